"""Model prices as exact decimals: parsing, cost arithmetic, formatting, JSON numbers.

OpenRouter gives prices as decimal strings in USD per token. They become
`Decimal` here, once, and never pass through a binary float, so that
3 tokens at $0.0000004 cost exactly $0.0000012.

A price of `None` means variable or unknown: the API says "-1" for the auto
router, whose price depends on the model it picks. Such prices are shown as
`variable` and cannot be used to estimate a cost.

Formatting decisions:
- `format_decimal` is the plain number, no trailing zeros, no exponent:
  "0.0000152", "2.4", "0". Used for tab-separated output.
- `format_usd` is money for people: a dollar sign and at least two decimals,
  more when the amount needs them: "$0.0000152", "$2.40", "$0.00".
- `dumps_json` writes a Decimal as a JSON number literal in its plain form
  (2.4, 0.0000152), so `json.loads(..., parse_float=Decimal)` gets it back
  exactly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Context, Decimal, InvalidOperation, localcontext
from typing import Any

from msgspec import Struct

from orcli.errors import GuardError

MILLION = Decimal(1_000_000)
VARIABLE = "variable"
UNKNOWN = "unknown"

# Token counts (up to ~10 digits) times prices (~10 significant digits) fit in
# 28 digits, but a wide context keeps the sums exact whatever the caller's
# global decimal context is.
_EXACT = Context(prec=60)

# No real price per token, request or image is above $1e12 or below 1e-30 dollars; past
# those, the arithmetic overflows (1e999999 per token) or prints pages of zeros, so such
# a price is junk like any other.
_PRICE_EXPONENTS = range(-30, 13)

# The most output tokens a budget can ask for. APIs take max_tokens as a 32-bit integer
# and no model answers with anywhere near this many, so a budget that covers it sets no
# practical limit; it also keeps the integer division short (a $1e60 budget at $2 per
# 1M tokens would be a 66-digit quotient, past the 60-digit context).
MAX_TOKENS = 2**31 - 1


class VariablePriceError(GuardError):
    """The model's price is variable or unknown, so no cost can be promised."""


class ModelPrices(Struct, frozen=True):
    """Per-token USD prices and limits of one model; None = variable, or unknown if `unknown`.

    Variable prices ("-1", the auto router) depend on the model picked; unknown ones
    were not given at all (a local server's catalog has no `pricing`). Neither is 0.
    """

    model: str
    prompt: Decimal | None
    completion: Decimal | None
    context_length: int | None
    max_output: int | None
    unknown: bool = False

    @property
    def is_variable(self) -> bool:
        """True when either price is variable or unknown."""
        return self.prompt is None or self.completion is None

    @property
    def prompt_per_million(self) -> Decimal | None:
        """USD per 1M input tokens."""
        return per_million(self.prompt)

    @property
    def completion_per_million(self) -> Decimal | None:
        """USD per 1M output tokens."""
        return per_million(self.completion)


class Costs(Struct, frozen=True):
    """The input and output sides of one request's cost, in USD."""

    input_cost: Decimal
    output_cost: Decimal

    @property
    def total(self) -> Decimal:
        """Input plus output cost."""
        with localcontext(_EXACT):
            return self.input_cost + self.output_cost


# The default model works with no key and no network, so its entry is built in.
BUILTIN_MODELS: dict[str, ModelPrices] = {
    "mistralai/devstral-2512": ModelPrices(
        model="mistralai/devstral-2512",
        prompt=Decimal("0.0000004"),
        completion=Decimal("0.000002"),
        context_length=262_144,
        max_output=None,
    ),
}


def parse_price(value: object) -> Decimal | None:
    """One API price field as a Decimal: missing = 0, "-1" or junk = None (variable)."""
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        return None
    try:
        # str() of a float is its shortest repr, the best a non-string price allows.
        price = Decimal(value if isinstance(value, str) else str(value))
    except InvalidOperation:
        return None
    if not price.is_finite() or price < 0:
        return None
    if price == 0:
        return Decimal(0)  # "0E-999999" is zero too, and harmless as plain 0
    return price if price.adjusted() in _PRICE_EXPONENTS else None


def _as_int(value: object) -> int | None:
    """A count from JSON, or None when absent or not a whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def json_object(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The object under `key`, or {} when it is absent, null or not an object.

    One malformed catalog entry must not break a whole listing: a field of the
    wrong type reads as a missing one.
    """
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def prices_from_model(obj: Mapping[str, Any]) -> ModelPrices:
    """Prices and limits from one object of the `GET /models` catalog.

    No `pricing`, one that is not an object, or a `prompt` or `completion` price
    that is missing or unreadable means the prices are unknown, never free.
    """
    pricing = json_object(obj, "pricing")
    top = json_object(obj, "top_provider")
    context = _as_int(obj.get("context_length"))
    if context is None:
        context = _as_int(top.get("context_length"))
    prompt, completion = pricing.get("prompt"), pricing.get("completion")
    unknown = not (is_price_given(prompt) and is_price_given(completion))
    return ModelPrices(
        model=str(obj.get("id", "")),
        prompt=None if unknown else parse_price(prompt),
        completion=None if unknown else parse_price(completion),
        context_length=context,
        max_output=_as_int(top.get("max_completion_tokens")),
        unknown=unknown,
    )


def is_price_given(value: object) -> bool:
    """Whether a price field says something: a number, or "-1" for variable; not junk or absent."""
    if value is None or value == "" or isinstance(value, bool):
        return False
    return parse_price(value) is not None or str(value).strip() == "-1"


def price_text(prices: ModelPrices, price: Decimal | None) -> str:
    """A price per 1M tokens for a table: the number, "variable", or "unknown"."""
    return UNKNOWN if prices.unknown else format_price_per_million(price)


def _known(prices: ModelPrices) -> tuple[Decimal, Decimal]:
    """Both prices, or VariablePriceError when either is variable."""
    if prices.prompt is None or prices.completion is None:
        kind = "unknown" if prices.unknown else "variable"
        raise VariablePriceError(
            f"model '{prices.model}' has {kind} prices; its cost cannot be estimated"
        )
    return prices.prompt, prices.completion


def cost(prices: ModelPrices, input_tokens: int, output_tokens: int) -> Costs:
    """Exact cost of a request; raises VariablePriceError for variable prices."""
    if input_tokens < 0 or output_tokens < 0:
        raise ValueError("token counts cannot be negative")
    prompt, completion = _known(prices)
    with localcontext(_EXACT):
        return Costs(input_cost=prompt * input_tokens, output_cost=completion * output_tokens)


def worst_case_cost(prices: ModelPrices, input_tokens: int, max_output_tokens: int) -> Decimal:
    """Cost if the answer uses every allowed output token."""
    return cost(prices, input_tokens, max_output_tokens).total


def max_output_within_budget(prices: ModelPrices, input_tokens: int, budget: Decimal) -> int | None:
    """Largest max_tokens keeping the worst case within budget (<= 0: refuse; None: no bound).

    None means output is free and the input fits, so the budget sets no limit
    on max_tokens. A result of 0 or less means not even one output token fits.
    The result is at most MAX_TOKENS, however large the budget.
    """
    prompt, completion = _known(prices)
    with localcontext(_EXACT):
        remaining = budget - prompt * input_tokens
        if remaining < 0:
            return -1
        if completion == 0:
            return None
        if remaining >= completion * MAX_TOKENS:
            return MAX_TOKENS
        # `//` on Decimals is exact integer division (remaining is not negative here),
        # and the quotient is below MAX_TOKENS, far inside the context's 60 digits.
        return int(remaining // completion)


def per_million(price: Decimal | None) -> Decimal | None:
    """A per-token price as USD per 1M tokens ("0.0000004" -> 0.4)."""
    if price is None:
        return None
    with localcontext(_EXACT):
        return (price * MILLION).normalize()


def format_decimal(amount: Decimal) -> str:
    """Plain decimal text, no exponent and no trailing zeros: "0.0000152", "2.4"."""
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {amount}")
    if amount == 0:
        return "0"  # also turns "-0" and "0E-7" into "0"
    # Format "f" is exact at any length; normalize() would round to the context.
    text = f"{amount:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_price_per_million(price: Decimal | None) -> str:
    """A per-token price shown per 1M tokens, or "variable"."""
    millions = per_million(price)
    return VARIABLE if millions is None else format_decimal(millions)


def format_usd(amount: Decimal) -> str:
    """Money for people: "$0.0000152", "$2.40", "-$1.05"; at least two decimals."""
    whole, _, fraction = format_decimal(abs(amount)).partition(".")
    sign = "-" if amount < 0 else ""
    return f"{sign}${whole}.{fraction.ljust(2, '0')}"


def decimal_to_json_number(amount: Decimal) -> str:
    """A Decimal as a JSON number literal, exact (JSON has no NaN or Infinity)."""
    return format_decimal(amount)


def dumps_json(obj: object) -> str:
    """json.dumps (default separators) that writes Decimals as exact number literals."""
    if isinstance(obj, Decimal):
        return decimal_to_json_number(obj)
    if isinstance(obj, Mapping):
        items = (f"{json.dumps(_json_key(k))}: {dumps_json(v)}" for k, v in obj.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ", ".join(dumps_json(v) for v in obj) + "]"
    return json.dumps(obj)


def _json_key(key: object) -> str:
    """Object keys as json.dumps would write them."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
