"""The `GET /models` catalog: an on-disk cache per base URL, filters, sorting, look-ups.

The network is not touched here: callers pass `fetch`, a callable that returns
the API's `data` list or raises `UpstreamError`. Time and the cache directory
are parameters too, so tests control both.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from orcli.errors import ApiError, ExitStatus, UnknownModelError, UpstreamError
from orcli.models.pricing import (
    BUILTIN_MODELS,
    ModelPrices,
    json_object,
    per_million,
    prices_from_model,
)
from orcli.store.config import Settings

CACHE_TTL_SECONDS = 3600
CACHE_FORMAT = 1
SORT_KEYS = ("id", "price", "context", "created")
_OUTAGES = (ExitStatus.UPSTREAM, ExitStatus.RATE_LIMITED)

Model = dict[str, Any]
Fetch = Callable[[], list[Model]]
Warn = Callable[[str], None]


@dataclass(frozen=True)
class CachedCatalog:
    """The models read from a cache file and when they were fetched (epoch seconds)."""

    models: list[Model]
    fetched_at: float


def cache_dir_from_env(env: Mapping[str, str]) -> Path:
    """$XDG_CACHE_HOME/orcli, else ~/.cache/orcli."""
    xdg = env.get("XDG_CACHE_HOME", "")
    # The XDG spec says relative paths are invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "orcli"
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".cache" / "orcli"


def normalise_base_url(base_url: str) -> str:
    """The base URL as the cache keys it: surrounding spaces and trailing slashes dropped."""
    return base_url.strip().rstrip("/")


def cache_path(base_url: str, cache_dir: Path) -> Path:
    """The cache file for one base URL, named after it so a person can tell which is which.

    Not a cryptographic hash: loading hashlib costs startup time, and a clash would
    be harmless, since each file records its base URL and a mismatch reads as absent.
    """
    import zlib

    url = normalise_base_url(base_url)
    slug = "".join(c if c.isalnum() or c in ".-" else "_" for c in url.split("://")[-1])
    return cache_dir / f"models-{slug[:60]}-{zlib.crc32(url.encode()):08x}.json"


def _valid_models(data: object) -> bool:
    return isinstance(data, list) and all(isinstance(m, dict) for m in data)


def read_cache(base_url: str, cache_dir: Path) -> CachedCatalog | None:
    """The cached catalog of any age, or None when absent or unreadable."""
    try:
        raw = json.loads(cache_path(base_url, cache_dir).read_text(encoding="utf-8"))
        fetched_at, data = raw["fetched_at"], raw["data"]
        # The base URL is stored too, so a hash collision reads as a miss.
        usable = raw["format"] == CACHE_FORMAT and raw["base_url"] == normalise_base_url(base_url)
    except (OSError, ValueError, LookupError, TypeError):
        return None
    if not usable or type(fetched_at) not in (int, float) or not _valid_models(data):
        return None
    return CachedCatalog(models=data, fetched_at=float(fetched_at))


def write_cache(base_url: str, models: list[Model], *, cache_dir: Path, now: float) -> Path:
    """Write the cache atomically: a temp file in the same directory, then os.replace."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_path(base_url, cache_dir)
    body = {"format": CACHE_FORMAT, "base_url": normalise_base_url(base_url)}
    body |= {"fetched_at": now, "data": models}
    import tempfile  # only when writing: keeps cached listings quick to start

    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".models-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(body, out)
        os.replace(tmp, target)
    except BaseException:
        # Readers must never see a half-written file, nor should litter stay behind.
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


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
    if not _valid_models(models):
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


def _created(model: Model) -> int | None:
    created = model.get("created")
    return created if isinstance(created, int) and not isinstance(created, bool) else None


def _input_modalities(model: Model) -> list[str]:
    arch = json_object(model, "architecture")
    listed = arch.get("input_modalities")
    if isinstance(listed, list):
        return [str(m).casefold() for m in listed]
    # Older catalog entries only have "text+image->text".
    inputs = str(arch.get("modality") or "").partition("->")[0]
    return [m.casefold() for m in inputs.split("+") if m]


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
        prices = prices_from_model(model)
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
                not self.modality or self.modality.casefold() in _input_modalities(model),
            )
        )


_SORT_VALUE: dict[str, Callable[[Model], Any]] = {
    "id": lambda m: str(m.get("id", "")),
    "price": lambda m: prices_from_model(m).prompt,
    "context": lambda m: prices_from_model(m).context_length,
    "created": _created,
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


def model_prices(
    model_id: str,
    *,
    base_url: str,
    cache_dir: Path,
    fetch: Fetch,
    warn: Warn,
    now: float | None = None,
) -> ModelPrices:
    """Prices from the built-in entry, else the catalog as `load_catalog` gives it.

    That is a cache fetched within the hour, else a fetch; when the network fails,
    a stale cache with a note saying how old it is. A fresh cache without the model
    is believed (UnknownModelError).
    """
    if model_id in BUILTIN_MODELS:
        return BUILTIN_MODELS[model_id]
    models = load_catalog(base_url, fetch, cache_dir=cache_dir, now=now, warn=warn)
    return prices_from_model(find_model(models, model_id))


def known_context_length(model_id: str, base_url: str, cache_dir: Path) -> int | None:
    """Context length from the built-in entry or the cache only; None when unknown.

    A cache of any age will do: a context length rarely changes, and the guard must
    not cost a fetch (SPEC: "no fetch just for this").
    """
    if model_id in BUILTIN_MODELS:
        return BUILTIN_MODELS[model_id].context_length
    found = _lookup(cached_catalog(base_url, cache_dir=cache_dir) or [], model_id)
    return None if found is None else prices_from_model(found).context_length


# Input modalities of the built-in entries, as OpenRouter's catalog lists them.
BUILTIN_INPUT_MODALITIES: dict[str, tuple[str, ...]] = {"mistralai/devstral-2512": ("text",)}


def known_input_modalities(model_id: str, base_url: str, cache_dir: Path) -> list[str] | None:
    """What the model takes as input, from the built-in entry or the cache only; None: unknown.

    Like the context guard, this never costs a fetch (SPEC: "no fetch just for this").
    """
    if model_id in BUILTIN_INPUT_MODALITIES:
        return list(BUILTIN_INPUT_MODALITIES[model_id])
    found = _lookup(cached_catalog(base_url, cache_dir=cache_dir) or [], model_id)
    listed = None if found is None else _input_modalities(found)
    return listed or None  # an entry that lists none says nothing
