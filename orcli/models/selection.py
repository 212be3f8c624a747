"""Choosing models from the catalog: search, filters, sorting (`orcli models` flags).

Pure: works on the API's model objects as given; a field of the wrong type reads as
missing, so one malformed entry never breaks a listing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from msgspec import Struct

from orcli.models.facts import created_at, input_modalities, model_limits
from orcli.models.pricing import per_million

SORT_KEYS = ("id", "price", "context", "created")

Model = dict[str, Any]


def supported_parameters(model: Model) -> set[str]:
    """The parameter names the model lists; none when the field is not a list."""
    listed = model.get("supported_parameters")
    return {p for p in listed if isinstance(p, str)} if isinstance(listed, list) else set()


def matches_search(model: Model, text: str) -> bool:
    """Case-insensitive substring match on id and name."""
    needle = text.casefold()
    return (
        needle in str(model.get("id", "")).casefold()
        or needle in str(model.get("name", "")).casefold()
    )


class _Filter(Struct, frozen=True):
    search: str | None
    max_price: Decimal | None
    min_context: int | None
    supports: frozenset[str]
    free: bool
    modality: str | None

    @property
    def active(self) -> bool:
        """Whether any filter is set; with none, no model's prices need working out."""
        return bool(self.search or self.max_price is not None or self.min_context is not None
                    or self.supports or self.free or self.modality)

    def matches(self, model: Model) -> bool:
        prices = model_limits(model)
        prompt_per_m = per_million(prices.prompt)
        return all(
            (
                not self.search or matches_search(model, self.search),
                # A variable price promises nothing, so it never passes a price ceiling.
                self.max_price is None
                or (prompt_per_m is not None and prompt_per_m <= self.max_price),
                self.min_context is None or (prices.context_length or 0) >= self.min_context,
                self.supports <= supported_parameters(model),
                # OpenRouter's `:free` variants carry "0" prices, so they qualify here.
                not self.free or prices.prompt == prices.completion == 0,
                not self.modality or self.modality.casefold() in input_modalities(model),
            )
        )


_SORT_VALUE: dict[str, Callable[[Model], Any]] = {
    "id": lambda m: str(m.get("id", "")),
    "price": lambda m: model_limits(m).prompt,
    "context": lambda m: model_limits(m).context_length,
    "created": created_at,
}


def sort_models(models: Iterable[Model], key: str = "id", reverse: bool = False) -> list[Model]:
    """Sort by id|price|context|created; models lacking the value (variable price) go last."""
    if key not in _SORT_VALUE:
        raise ValueError(f"unknown sort key {key!r}; choose from {', '.join(SORT_KEYS)}")
    value = _SORT_VALUE[key]
    by_id = sorted(models, key=_SORT_VALUE["id"])
    known = [m for m in by_id if value(m) is not None]
    unknown = [m for m in by_id if value(m) is None]
    # Python's sort is stable even with reverse=True, so ties stay in id order.
    known.sort(key=value, reverse=reverse)
    return known + unknown


def select_models(
    models: Iterable[Model],
    *,
    search: str | None = None,
    max_price: Decimal | None = None,
    min_context: int | None = None,
    supports: Iterable[str] = (),
    free: bool = False,
    modality: str | None = None,
    sort: str = "id",
    reverse: bool = False,
    limit: int | None = None,
) -> list[Model]:
    """Filter (max_price in USD per 1M input tokens), sort, then cut to `limit`."""
    if limit is not None and limit < 0:
        raise ValueError("limit cannot be negative")
    wanted = _Filter(search, max_price, min_context, frozenset(supports), free, modality)
    kept = [m for m in models if wanted.matches(m)] if wanted.active else list(models)
    ordered = sort_models(kept, sort, reverse)
    return ordered if limit is None else ordered[:limit]
