"""The `GET /models` catalog: loading it (cache, else fetch), finding models, their facts.

The files are `orcli.models.cache`, filters and sorting `orcli.models.selection`, one
entry's facts `orcli.models.facts`; their public names are re-exported here. The
network is not touched here: callers pass `fetch`, a callable that returns
the API's `data` list or raises `UpstreamError`. Time and the cache directory
are parameters too, so tests control both.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    facts_from_model,
    facts_from_record,
    facts_record,
)
from orcli.models.pricing import BUILTIN_MODELS, ModelPrices
from orcli.models.selection import (
    SORT_KEYS,
    matches_search,
    select_models,
    sort_models,
    supported_parameters,
)

__all__ = ["CACHE_FORMAT", "SORT_KEYS", "CachedCatalog", "cache_path", "matches_search",
           "normalise_base_url", "read_cache", "select_models", "sort_models",
           "supported_parameters"]

CACHE_TTL_SECONDS = 3600
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


def known_input_modalities(model_id: str, base_url: str, cache_dir: Path) -> list[str] | None:
    """What the model takes as input, from the built-in entry or the cache only; None: unknown.

    Like the context guard, this never costs a fetch (SPEC: "no fetch just for this").
    """
    facts = known_model(model_id, base_url, cache_dir)
    listed = None if facts is None else facts.input_modalities
    return list(listed) if listed else None  # an entry that lists none says nothing
