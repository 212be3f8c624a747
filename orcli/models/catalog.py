"""The `GET /models` catalog: an on-disk cache per base URL, filters, sorting, look-ups.

The network is not touched here: callers pass `fetch`, a callable that returns
the API's `data` list or raises `UpstreamError`. Time and the cache directory
are parameters too, so tests control both.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from orcli.errors import ApiError, ExitStatus, UnknownModelError, UpstreamError
from orcli.models import cache
from orcli.models.cache import (
    CACHE_FORMAT,
    CachedCatalog,
    cache_path,
    normalise_base_url,
    read_cache,
)
from orcli.models.facts import (
    ModelFacts,
    created_at,
    facts_from_model,
    facts_from_record,
    facts_record,
    input_modalities,
    model_limits,
)
from orcli.models.pricing import BUILTIN_MODELS, ModelPrices, per_million
from orcli.store.config import Settings

__all__ = ["CACHE_FORMAT", "CachedCatalog", "cache_path", "normalise_base_url", "read_cache"]

CACHE_TTL_SECONDS = 3600
SORT_KEYS = ("id", "price", "context", "created")
_OUTAGES = (ExitStatus.UPSTREAM, ExitStatus.RATE_LIMITED)
# What the built-in entries do not say about themselves; the default model reads text only.
_BUILTIN_INPUTS = {"mistralai/devstral-2512": ("text",)}

Model = dict[str, Any]
Fetch = Callable[[], list[Model]]
Warn = Callable[[str], None]


def cache_dir_from_env(env: Mapping[str, str]) -> Path:
    """$XDG_CACHE_HOME/orcli, else ~/.cache/orcli."""
    xdg = env.get("XDG_CACHE_HOME", "")
    # The XDG spec says relative paths are invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "orcli"
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".cache" / "orcli"


def write_cache(base_url: str, models: list[Model], *, cache_dir: Path, now: float) -> Path:
    """Write the cache and its index of model facts, each atomically."""
    return cache.write_cache(base_url, models, cache_dir=cache_dir, now=now, facts=facts_record)


def is_fresh(cached: CachedCatalog, now: float) -> bool:
    """True within the hour after the fetch; a fetch time in the future counts as stale."""
    return 0 <= now - cached.fetched_at < CACHE_TTL_SECONDS


def format_age(seconds: float) -> str:
    """A cache age for people: "less than a minute", "12 min", "3 h 12 min", "2 d 3 h"."""
    minutes = int(max(seconds, 0) // 60)
    if minutes < 1:
        return "less than a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def _fetch_checked(fetch: Fetch, base_url: str) -> list[Model]:
    models = fetch()
    if not cache.valid_models(models):
        raise UpstreamError(f"the model list from {base_url} is not a list of objects")
    return models


def fetcher(
    settings: Settings, notify: Callable[[str], None], debug: bool = False
) -> Callable[[], list[Model]]:
    """GET /models through the HTTP client, which is imported only if a fetch is due.

    A listing served from the cache never loads requests.
    """

    def fetch() -> list[Model]:
        from orcli.http.client import Client

        return Client(settings, debug=notify if debug else None, notify=notify).list_models()

    return fetch


def load_catalog(
    base_url: str,
    fetch: Fetch,
    *,
    cache_dir: Path,
    refresh: bool = False,
    now: float | None = None,
    warn: Warn,
) -> list[Model]:
    """A fresh cache, else a fetch (cached); on an outage a cache of any age, with a note."""
    now = time.time() if now is None else now
    cached = read_cache(base_url, cache_dir)
    if cached is not None and not refresh and is_fresh(cached, now):
        return cached.models
    try:
        models = _fetch_checked(fetch, base_url)
    except (UpstreamError, ApiError) as error:
        # A stale cache covers outages (network, 5xx, 429), never a refused request.
        if cached is None or error.status not in _OUTAGES:
            raise
        age = format_age(now - cached.fetched_at)
        warn(f"orcli: note: offline ({error.message}); using the model list cached {age} ago")
        return cached.models
    try:
        write_cache(base_url, models, cache_dir=cache_dir, now=now)
    except OSError as error:
        # The cache only saves time; a read-only home must not break the command.
        warn(f"orcli: warning: could not cache the model list: {error}")
    return models


def cached_catalog(base_url: str, *, cache_dir: Path) -> list[Model] | None:
    """The cached models of any age, never fetching (context guard, shell completion)."""
    cached = read_cache(base_url, cache_dir)
    return None if cached is None else cached.models


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


@dataclass(frozen=True)
class _Filter:
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


def _lookup(models: Iterable[Model], model_id: str) -> Model | None:
    for model in models:
        if model.get("id") == model_id:
            return model
    return None


def suggest_ids(models: Iterable[Model], model_id: str, n: int = 3) -> list[str]:
    """Close matches for a mistyped id, on whole ids and on the part after the slash."""
    ids = [str(m.get("id", "")) for m in models]
    by_tail: dict[str, list[str]] = {}
    for full in ids:
        by_tail.setdefault(full.rpartition("/")[2], []).append(full)
    import difflib

    found = difflib.get_close_matches(model_id, ids, n=n)
    for tail in difflib.get_close_matches(model_id.rpartition("/")[2], list(by_tail), n=n):
        found.extend(by_tail[tail])
    return list(dict.fromkeys(found))[:n]


def find_model(models: list[Model], model_id: str) -> Model:
    """The catalog entry with this id, or UnknownModelError naming close matches."""
    found = _lookup(models, model_id)
    if found is not None:
        return found
    close = suggest_ids(models, model_id)
    hint = f"; did you mean: {', '.join(close)}?" if close else " (see `orcli models`)"
    raise UnknownModelError(f"unknown model '{model_id}'{hint}")


def builtin_facts(model_id: str) -> ModelFacts | None:
    """The built-in entry's facts (the default model's), or None for any other model."""
    prices = BUILTIN_MODELS.get(model_id)
    if prices is None:
        return None
    return ModelFacts(prices, _BUILTIN_INPUTS.get(model_id), None)


def known_model(model_id: str, base_url: str, cache_dir: Path) -> ModelFacts | None:
    """What is known about a model without any fetch: built-in entry, else the cache.

    The one place that answers "prices, context, input modalities and supported
    efforts of model X" for the guards. A cache of any age will do (a context length
    rarely changes, and SPEC says "no fetch just for this"); the index answers
    without parsing the catalog. None when the model is not known.
    """
    facts = builtin_facts(model_id)
    if facts is not None:
        return facts
    hit = cache.look_up(base_url, cache_dir, model_id)
    if hit is not None:
        return None if hit.facts is None else facts_from_record(model_id, hit.facts)
    found = _lookup(cached_catalog(base_url, cache_dir=cache_dir) or [], model_id)
    return None if found is None else facts_from_model(found)


def models_facts(
    model_ids: Sequence[str], *, base_url: str, cache_dir: Path, fetch: Fetch, warn: Warn,
    refresh: bool = False, now: float | None = None,
) -> list[ModelFacts]:
    """Each model's facts: built-in, else a cache from within the hour, else one fetch.

    The index answers for a fresh cache; the catalog is loaded (parsed, or fetched
    when stale, with a stale cache and a note on an outage) at most once for all
    the models left, so an outage costs one round of retries. A fresh catalog
    without the model is believed: UnknownModelError naming close matches.
    """
    now = time.time() if now is None else now
    found: dict[str, ModelFacts] = {}
    for model_id in dict.fromkeys(model_ids):
        facts = builtin_facts(model_id) or _fresh_from_index(model_id, base_url, cache_dir,
                                                             now, refresh)
        if facts is not None:
            found[model_id] = facts
    missing = [m for m in model_ids if m not in found]
    if missing:
        models = load_catalog(base_url, fetch, cache_dir=cache_dir, refresh=refresh, now=now,
                              warn=warn)
        found |= {m: facts_from_model(find_model(models, m)) for m in missing}
    return [found[m] for m in model_ids]


def _fresh_from_index(model_id: str, base_url: str, cache_dir: Path, now: float,
                      refresh: bool) -> ModelFacts | None:
    hit = None if refresh else cache.look_up(base_url, cache_dir, model_id)
    if hit is None or hit.facts is None or not 0 <= now - hit.fetched_at < CACHE_TTL_SECONDS:
        return None  # not indexed, unknown (close matches need the catalog), or stale
    return facts_from_record(model_id, hit.facts)


def model_prices(
    model_id: str, *, base_url: str, cache_dir: Path, fetch: Fetch, warn: Warn,
    now: float | None = None,
) -> ModelPrices:
    """Prices and limits as `models_facts` finds them (for --max-cost)."""
    return models_facts([model_id], base_url=base_url, cache_dir=cache_dir, fetch=fetch,
                        warn=warn, now=now)[0].prices


def known_context_length(model_id: str, base_url: str, cache_dir: Path) -> int | None:
    """Context length from the built-in entry or the cache only; None when unknown."""
    facts = known_model(model_id, base_url, cache_dir)
    return None if facts is None else facts.prices.context_length
