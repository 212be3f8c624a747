"""Checks made before anything is sent: the --max-cost budget and the context length.

Counting tokens loads tiktoken and Tekken's vocabulary (about 0.15 s), so it is done
only when a guard needs the number. A cheap upper bound settles most cases first:
every Tekken token stands for at least one byte of text, so a text of B UTF-8 bytes
is at most B tokens, and the chat template adds a few tokens per message (see
`orcli.models.tokens`). Labelled estimates for other models use the same Tekken count, so
the bound holds for them too. When the bound already fits the context (and the
budget), the real count cannot exceed it and is never computed: `echo hi | orcli chat`
does not load the vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeGuard

from msgspec import Struct
from msgspec.structs import replace

from orcli.errors import GuardError, UnknownModelError, UsageError
from orcli.models.pricing import (
    MAX_TOKENS,
    ModelPrices,
    VariablePriceError,
    cost,
    format_usd,
    max_output_within_budget,
    worst_case_cost,
)
from orcli.request.routing import (
    check_effort,
    listed_models,
    requested_effort,
    smallest_context,
    worst_case_prices,
)

if TYPE_CHECKING:
    from orcli.models.calibration import Calibration
    from orcli.models.tokens import TokenCount

# Tokens the template may add per message, above the bytes of its text: Tekken's is
# at most 2 (a wrapper pair) plus 2 bytes where merged texts are joined. Kept generous
# on purpose; the bound only has to be an upper bound.
_TEMPLATE_ALLOWANCE = 8


class PromptSize(Struct):
    """The input's token count, counted at most once, and a cheap bound that needs no count."""

    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    # Scales an estimate by what the model's recent calls were billed (never an exact count).
    calibration: Calibration | None = None
    _counted: TokenCount | None = None  # the count, once made

    def count(self, limit: int | None = None) -> TokenCount:
        """The count the guards use: orcli's own, an estimate scaled by its calibration."""
        cal = self.calibration
        if cal is not None and limit is not None:
            limit = math.ceil(limit / cal.ratio) + 1  # past the limit once scaled
        raw = self.raw_count(limit)
        if raw.exact or cal is None:
            return raw
        from orcli.models.calibration import apply

        return replace(raw, tokens=apply(raw.tokens, cal))

    @property
    def counted(self) -> bool:
        """The whole prompt was counted already (by a guard): counting again is free."""
        return self._counted is not None and self._counted.complete

    def raw_count(self, limit: int | None = None) -> TokenCount:
        """The TokenCount from orcli.models.tokens (loads the vocabulary on first use).

        With `limit`, counting may stop once past it (the count is then not `complete`).
        """
        if self._counted is None or not self._counted.complete:
            from orcli.models.tokens import count_prompt

            self._counted = count_prompt(self.model, self.messages, self.tools, limit)
        return self._counted

    def upper_bound(self) -> int | None:
        """At least as many tokens as `count()` gives, or None when no cheap bound is sound.

        Tool definitions and tool-call arguments are re-serialised before counting
        (defaults added, spaces after separators, numbers rewritten), so their byte
        length does not bound their count: requests with them are always counted.
        """
        if self.tools:
            return None
        total = 1 + _TEMPLATE_ALLOWANCE  # <s>, and the empty turn of an empty list
        for message in self.messages:
            if not isinstance(message, dict) or message.get("tool_calls"):
                return None
            total += _TEMPLATE_ALLOWANCE + _text_bytes(message.get("content"))
        if self.calibration is not None:  # a scaled estimate needs a scaled bound
            return math.ceil(total * self.calibration.ratio)
        return total


def _text_bytes(content: object) -> int:
    """UTF-8 bytes of a message's text (2 more per part for the joins)."""
    if isinstance(content, str):
        return _utf8_len(content)
    if not isinstance(content, list):
        return 0
    texts = [p.get("text") for p in content if isinstance(p, dict)]
    return sum(_utf8_len(t) + 2 for t in texts if isinstance(t, str))


def _utf8_len(text: str) -> int:
    # A lone surrogate is counted as U+FFFD, 3 bytes, as surrogatepass also makes it.
    # ASCII text is its own length: no 30 MB copy to learn it.
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


class ModelLimits(Struct, frozen=True):
    """What the guards know of the models a request may be served by (passed in, not looked up).

    `contexts` has every listed model, None where its context is not known;
    `prices` has one entry per listed model when a budget needs them, else none.
    """

    contexts: Mapping[str, int | None]
    prices: Sequence[ModelPrices] = ()


class Guarded(Struct, frozen=True):
    """A body that passed the guards, its worst-case cost when prices were known, and its size."""

    body: dict[str, Any]
    worst_case: Decimal | None
    prompt: PromptSize


def check_guards(body: dict[str, Any], limits: ModelLimits,
                 max_cost: Decimal | None) -> dict[str, Any]:
    """The body to send, or exit 8 for a request over budget or over the model's context."""
    return guard_request(body, limits, max_cost).body


def guard_request(body: dict[str, Any], limits: ModelLimits, max_cost: Decimal | None,
                  calibration: Calibration | None = None) -> Guarded:
    """The guarded request, or exit 8 for one over budget or over the model's context.

    Without max_tokens in the body, --max-cost sets the largest max_tokens that fits
    (in a new body; the one given is not changed).
    """
    body = dict(body)
    prompt = PromptSize(str(body.get("model")), body.get("messages") or [], body.get("tools"),
                        calibration)
    known = {p.model: p.context_length for p in limits.prices}
    smallest = smallest_context({m: known.get(m) or c for m, c in limits.contexts.items()})
    # With fallbacks any listed model may serve: the dearest prices, the smallest limits.
    prices = worst_case_prices(limits.prices) if limits.prices else None
    if smallest is not None:
        check_context(prompt, smallest[1], holder=smallest[0])
    worst = None
    if prices is not None and max_cost is not None:
        worst = check_budget(body, prompt, prices, max_cost,
                             None if smallest is None else smallest[1])
    return Guarded(body, worst, prompt)


def row_context_refusal(body: Mapping[str, Any], contexts: Mapping[str, int | None]
                        ) -> GuardError | None:
    """A batch row's refusal when its input is longer than a listed model's known context."""
    smallest = smallest_context({m: contexts.get(m) for m in listed_models(body)
                                 or [str(body.get("model"))]})
    if smallest is None:
        return None
    prompt = PromptSize(str(body.get("model")), body.get("messages") or [], body.get("tools"))
    try:
        check_context(prompt, smallest[1], holder=smallest[0])
    except GuardError as exc:
        return exc
    return None


def check_context(prompt: PromptSize, context: int, holder: str | None = None) -> None:
    """Exit 8 when the input alone is longer than the context of `holder` (the model)."""
    bound = prompt.upper_bound()
    if bound is not None and bound <= context:
        return
    # Counting stops once past the context: a 30 MB input is refused after its first MB.
    counted = prompt.count(limit=context)
    if not counted.complete:
        estimate = "" if counted.exact else " (estimate)"
        raise GuardError(
            f"input is at least {counted.tokens:,} tokens{estimate} (counting stopped there), "
            f"more than {holder or prompt.model}'s context of {context:,} by "
            f"{counted.tokens - context:,} or more; nothing was sent"
        )
    if counted.tokens > context:
        over = counted.tokens - context
        raise GuardError(
            f"input is {_tokens(counted, prompt.calibration)}, {over:,} over "
            f"{holder or prompt.model}'s context of {context:,}; nothing was sent"
        )


def check_reasoning_effort(body: Mapping[str, Any], supported: Sequence[str] | None) -> None:
    """Exit 2 when the model's efforts are known and the one the body asks for is not one."""
    check_effort(requested_effort(body), str(body.get("model")), supported)


def _tokens(counted: TokenCount, calibration: Calibration | None = None) -> str:
    """"1,234 tokens", or "about 1,234 tokens (estimate)" when the count is not exact."""
    if counted.exact:
        return f"{counted.tokens:,} tokens"
    from orcli.models.calibration import count_label

    return f"about {counted.tokens:,} tokens ({count_label(False, calibration)})"


def check_budget(
    body: dict[str, Any], prompt: PromptSize, prices: ModelPrices, budget: Decimal,
    context: int | None,
) -> Decimal | None:
    """Exit 8 when the worst case is over budget; else set max_tokens to fit when unset.

    Returns the worst case (an upper bound of it when the cheap bound settled it),
    or None when the output has no limit.
    """
    if prices.unknown:
        raise UnknownModelError(
            f"the prices of '{prices.model}' are unknown (its catalog entry lists none), so "
            "--max-cost cannot be kept; nothing was sent")
    if prices.is_variable:
        raise VariablePriceError(
            f"model '{prices.model}' has variable prices, so --max-cost cannot be checked; "
            "nothing was sent"
        )
    if "max_tokens" not in body:
        limit = budget_max_tokens(prompt, prices, budget, context)
        if limit is None:
            return None
        body["max_tokens"] = limit
        return worst_case_cost(prices, prompt.count().tokens, limit)
    max_tokens = _given_max_tokens(body["max_tokens"])
    bound = prompt.upper_bound()
    # Worst case with the bound in place of the count: when even that fits, so does the count.
    if bound is not None and (worst := worst_case_cost(prices, bound, max_tokens)) <= budget:
        return worst
    counted = prompt.count()
    worst = worst_case_cost(prices, counted.tokens, max_tokens)
    if worst > budget:
        raise GuardError(
            f"worst case {format_usd(worst)} ({_tokens(counted, prompt.calibration)} in + "
            f"{max_tokens:,} out) is over the --max-cost budget of {format_usd(budget)}; "
            "nothing was sent"
        )
    return worst


def _given_max_tokens(value: object) -> int:
    """max_tokens from --max-tokens or -o, which must be a whole number to be priced."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"max_tokens must be a whole number of 1 or more, not {value!r}")
    return value


def budget_max_tokens(
    prompt: PromptSize, prices: ModelPrices, budget: Decimal, context: int | None
) -> int | None:
    """The largest max_tokens within budget, context room and max output; None: no limit.

    Exit 8 when not even one output token fits.
    """
    counted = prompt.count()
    fit = max_output_within_budget(prices, counted.tokens, budget)
    if fit is not None and fit < 1:
        input_cost = cost(prices, counted.tokens, 0).total
        raise GuardError(
            f"the --max-cost budget of {format_usd(budget)} does not cover the input "
            f"({_tokens(counted, prompt.calibration)}, {format_usd(input_cost)}) and one output "
            "token; nothing was sent"
        )
    if fit is None:
        return None  # free output: the budget sets no limit, so the body stays as given
    room = None if context is None else context - counted.tokens
    if room is not None and room < 1:
        raise GuardError(
            f"input is {_tokens(counted, prompt.calibration)}, all of {prompt.model}'s context "
            f"of {context:,}; no room for an answer; nothing was sent"
        )
    limit = min(n for n in (fit, room, prices.max_output) if n is not None)
    # MAX_TOKENS is the budget saying "any number": when neither the context nor the
    # model's max output is known to cap it, sending 2**31-1 would only invite a 400
    # for a limit no answer can reach, so the body is left without one, as with free
    # output. The budget still holds: no model can write that much in one answer.
    return None if limit >= MAX_TOKENS else limit


def estimate_usage_cost(prices: ModelPrices | None, prompt_tokens: int | None,
                        completion_tokens: int | None) -> Decimal | None:
    """Cost of a finished call from known prices, when the API did not say; None when unknown."""
    if not (_is_count(prompt_tokens) and _is_count(completion_tokens)):
        return None
    if prices is None or prices.is_variable:
        return None
    return cost(prices, prompt_tokens, completion_tokens).total


def _is_count(value: object) -> TypeGuard[int]:
    """A token count from the API that can be priced: a whole number, not negative."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
