"""What orcli knows about one model: prices, limits, input modalities, reasoning efforts.

Pure: built from one `GET /models` entry (or a built-in entry), and turned into the
short record the catalog index keeps. Fields a server leaves out, or fills with
nonsense, read as unknown: a context of 0 or below, a `created` time of 0 or past
the year 9999. llama.cpp's server gives no `context_length` but its context size
as `meta.n_ctx` (vLLM as `max_model_len`, LiteLLM as `max_input_tokens`), which
counts as the context length.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from msgspec import Struct
from msgspec.structs import replace

from orcli.models.pricing import ModelPrices, json_object, prices_from_model

# Epoch seconds of 9999-12-31T23:59:59Z, the last date time.gmtime can show.
MAX_CREATED = 253_402_300_799

Model = dict[str, Any]


class ModelFacts(Struct, frozen=True):
    """One model as orcli knows it; None fields are unknown."""

    prices: ModelPrices  # prices per token, context length, max output
    input_modalities: tuple[str, ...] | None
    supported_efforts: tuple[str, ...] | None


def created_at(model: Model) -> int | None:
    """The model's `created` time in epoch seconds, or None when absent or implausible."""
    created = model.get("created")
    if isinstance(created, bool) or not isinstance(created, int):
        return None
    return created if 0 < created <= MAX_CREATED else None


def _positive(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value > 0 else None


def model_limits(model: Model) -> ModelPrices:
    """Prices and limits of one entry: context from `context_length`, else `meta.n_ctx`."""
    prices = prices_from_model(model)
    context = _positive(prices.context_length)
    if context is None:
        # llama.cpp's meta.n_ctx, vLLM's max_model_len, LiteLLM's max_input_tokens.
        context = (_positive(json_object(model, "meta").get("n_ctx"))
                   or _positive(model.get("max_model_len"))
                   or _positive(model.get("max_input_tokens")))
    if context == prices.context_length:
        return prices
    return replace(prices, context_length=context)


def input_modalities(model: Model) -> list[str]:
    """The input modalities the entry lists, casefolded; [] when it lists none."""
    arch = json_object(model, "architecture")
    listed = arch.get("input_modalities")
    if isinstance(listed, list):
        return [str(m).casefold() for m in listed]
    # Older catalog entries only have "text+image->text".
    inputs = str(arch.get("modality") or "").partition("->")[0]
    return [m.casefold() for m in inputs.split("+") if m]


def supported_efforts(model: Model) -> tuple[str, ...] | None:
    """`reasoning.supported_efforts` when the entry lists them; None when it does not say."""
    listed = json_object(model, "reasoning").get("supported_efforts")
    if not isinstance(listed, list):
        return None
    return tuple(e for e in listed if isinstance(e, str))


def facts_from_model(model: Model) -> ModelFacts:
    """Everything the guards and `price` use, from one catalog entry."""
    modalities = input_modalities(model)
    return ModelFacts(model_limits(model), tuple(modalities) if modalities else None,
                      supported_efforts(model))


def facts_record(model: Model) -> list[Any]:
    """One entry's facts as the index stores them (prices as exact decimal strings)."""
    facts = facts_from_model(model)
    prices = facts.prices
    if prices.unknown:  # told apart from variable prices, which are None too
        return ["unknown", "unknown", prices.context_length, prices.max_output,
                _listed(facts.input_modalities), _listed(facts.supported_efforts)]
    return [_text(prices.prompt), _text(prices.completion), prices.context_length,
            prices.max_output, _listed(facts.input_modalities), _listed(facts.supported_efforts)]


def facts_from_record(model_id: str, record: list[Any]) -> ModelFacts:
    """The facts from an index record, as `facts_from_model` gave them."""
    prompt, completion, context, max_output, modalities, efforts = record
    if prompt == "unknown":
        prices = ModelPrices(model_id, None, None, context, max_output, unknown=True)
    else:
        prices = ModelPrices(model_id, _decimal(prompt), _decimal(completion), context,
                             max_output)
    return ModelFacts(prices, _tuple(modalities), _tuple(efforts))


def _text(price: Decimal | None) -> str | None:
    return None if price is None else str(price)


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _listed(values: tuple[str, ...] | None) -> list[str] | None:
    return None if values is None else list(values)


def _tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)
