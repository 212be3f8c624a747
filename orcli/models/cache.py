"""The catalog's files on disk: the cache (the API's model list) and its index.

The cache is `models-<slug>-<crc>.json`, one per base URL, written atomically.
Reading it is guarded: it must be a regular file of at most CACHE_SIZE_LIMIT
bytes (a FIFO, a link to /dev/zero or a runaway file reads as absent, never
blocks or fills memory), and a `fetched_at` that is not a plausible time counts
as absent too. The big `json.loads` runs with the garbage collector off and its
result frozen: the objects it builds are all live, and tracing them is wasted
time in a short-lived process (about a third of the parse at 40,000 models).

The index (`.idx` beside it) answers "what is known about model X" without
parsing the catalog: one header line, a table of bucket offsets of fixed width,
then one line per model (`"id"<TAB>facts-json`) grouped in buckets by crc32 of
the id. A look-up reads the header, two table entries and one bucket of about
eight lines, whatever the size of the catalog. The header records the cache
file's inode, size and mtime; an index that does not match its cache (a writer
between its two renames) is not used, and the caller parses the cache instead.
"""

from __future__ import annotations

import gc
import json
import math
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from msgspec import Struct

from orcli.store.config import NotARegularFile, read_regular_file

CACHE_FORMAT = 1
INDEX_FORMAT = 1
# About 60 times OpenRouter's catalog today and room for 40,000 models; a file
# larger than this is not a catalog orcli wrote.
CACHE_SIZE_LIMIT = 128 * 1024 * 1024
# Epoch seconds before 9999-12-31: a later (or negative, or NaN) fetch time is junk.
MAX_EPOCH = 253_402_300_799
_OFFSET_WIDTH = 12  # digits per bucket offset in the index's table
_PER_BUCKET = 8
_HEADER_LIMIT = 4096
_BUCKET_LIMIT = 1024 * 1024

Model = dict[str, Any]


class CachedCatalog(Struct, frozen=True):
    """The models read from a cache file and when they were fetched (epoch seconds)."""

    models: list[Model]
    fetched_at: float


def normalise_base_url(base_url: str) -> str:
    """The base URL as the cache keys it: surrounding spaces and trailing slashes dropped."""
    return base_url.strip().rstrip("/")


def cache_path(base_url: str, cache_dir: Path) -> Path:
    """The cache file for one base URL, named after it so a person can tell which is which.

    Not a cryptographic hash: loading hashlib costs startup time, and a clash would
    be harmless, since each file records its base URL and a mismatch reads as absent.
    """
    url = normalise_base_url(base_url)
    slug = "".join(c if c.isalnum() or c in ".-" else "_" for c in url.split("://")[-1])
    return cache_dir / f"models-{slug[:60]}-{zlib.crc32(url.encode()):08x}.json"


def index_path(cache: Path) -> Path:
    """The index file beside a cache file."""
    return cache.with_suffix(".idx")


def valid_models(data: object) -> bool:
    """A list of objects, as `GET /models` gives in `data`."""
    return isinstance(data, list) and all(isinstance(m, dict) for m in data)


def plausible_time(value: object) -> bool:
    """An epoch time orcli could have written: a finite number from 0 to year 9999."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and 0 <= value <= MAX_EPOCH


def read_cache(base_url: str, cache_dir: Path) -> CachedCatalog | None:
    """The cached catalog of any age, or None when absent, unreadable or implausible."""
    try:
        raw = _parse_big(read_regular_file(cache_path(base_url, cache_dir), CACHE_SIZE_LIMIT))
        fetched_at, data = raw["fetched_at"], raw["data"]
        # The base URL is stored too, so a hash collision reads as a miss.
        usable = raw["format"] == CACHE_FORMAT and raw["base_url"] == normalise_base_url(base_url)
    except (OSError, ValueError, LookupError, TypeError, RecursionError, MemoryError):
        return None
    if not usable or not plausible_time(fetched_at) or not valid_models(data):
        return None
    return CachedCatalog(models=data, fetched_at=float(fetched_at))


def _parse_big(raw: bytes) -> Any:
    """json.loads with the collector off; what it built is frozen, as it stays alive."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return json.loads(raw)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def write_cache(base_url: str, models: list[Model], *, cache_dir: Path, now: float,
                facts: Callable[[Model], list[Any]]) -> Path:
    """Write the cache, then its index, each atomically (a temp file, then os.replace).

    `facts(model)` gives the index's record for one model.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_path(base_url, cache_dir)
    body = {"format": CACHE_FORMAT, "base_url": normalise_base_url(base_url)}
    body |= {"fetched_at": now, "data": models}
    tmp = _write_temp(cache_dir, ".models-", lambda out: out.write(json.dumps(body).encode()))
    try:
        identity = _identity(os.stat(tmp))
        header = {"format": INDEX_FORMAT, "cache": identity, "base_url": body["base_url"],
                  "fetched_at": now}
        index_tmp = _write_temp(cache_dir, ".index-",
                                lambda out: out.write(_index_bytes(header, models, facts)))
        os.replace(tmp, target)
        os.replace(index_tmp, index_path(target))
    except BaseException:
        for leftover in (tmp, locals().get("index_tmp")):
            if leftover:
                Path(leftover).unlink(missing_ok=True)
        raise
    return target


def _write_temp(directory: Path, prefix: str, write: Callable[[Any], object]) -> str:
    import tempfile  # only when writing: keeps cached listings quick to start

    fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
    except BaseException:
        # Readers must never see a half-written file, nor should litter stay behind.
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _identity(info: os.stat_result) -> list[int]:
    return [info.st_ino, info.st_size, info.st_mtime_ns]


def _index_bytes(header: dict[str, Any], models: list[Model],
                 facts: Callable[[Model], list[Any]]) -> bytes:
    buckets: list[list[bytes]] = [[] for _ in range(max(1, len(models) // _PER_BUCKET))]
    for model in models:
        key = json.dumps(str(model.get("id", "")))
        line = f"{key}\t{json.dumps(facts(model))}\n".encode()
        buckets[_bucket(key, len(buckets))].append(line)
    header["buckets"] = len(buckets)
    offsets, position = [], 0
    for bucket in buckets:
        offsets.append(position)
        position += sum(len(line) for line in bucket)
    offsets.append(position)
    table = "".join(f"{n:0{_OFFSET_WIDTH}d}" for n in offsets)
    return (json.dumps(header) + "\n" + table + "\n").encode() + b"".join(
        b"".join(bucket) for bucket in buckets)


def _bucket(key: str, count: int) -> int:
    return zlib.crc32(key.encode()) % count


class IndexHit(Struct, frozen=True):
    """What the index says about one model: its facts (None: not in the catalog)."""

    facts: list[Any] | None
    fetched_at: float


def look_up(base_url: str, cache_dir: Path, model_id: str) -> IndexHit | None:
    """The index's record for one model, or None when the index cannot be trusted."""
    cache = cache_path(base_url, cache_dir)
    try:
        identity = _identity(os.stat(cache))
        fd = os.open(index_path(cache), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return _search(fd, identity, normalise_base_url(base_url), model_id)
    except (OSError, ValueError, LookupError, TypeError, RecursionError, NotARegularFile):
        return None
    finally:
        os.close(fd)


def _search(fd: int, identity: list[int], base_url: str, model_id: str) -> IndexHit | None:
    import stat

    if not stat.S_ISREG(os.fstat(fd).st_mode):
        return None
    head = os.pread(fd, _HEADER_LIMIT, 0)
    header_line = head[: head.index(b"\n") + 1]
    header = json.loads(header_line)
    if header["format"] != INDEX_FORMAT or header["cache"] != identity \
            or header["base_url"] != base_url or not plausible_time(header["fetched_at"]):
        return None
    count, key = int(header["buckets"]), json.dumps(model_id)
    table_at = len(header_line)
    data_at = table_at + (count + 1) * _OFFSET_WIDTH + 1
    spot = _bucket(key, count) * _OFFSET_WIDTH + table_at
    entry = os.pread(fd, 2 * _OFFSET_WIDTH, spot)
    start, end = int(entry[:_OFFSET_WIDTH]), int(entry[_OFFSET_WIDTH:])
    if not 0 <= end - start <= _BUCKET_LIMIT:
        return None
    prefix = key.encode() + b"\t"
    for line in os.pread(fd, end - start, data_at + start).splitlines():
        if line.startswith(prefix):
            return IndexHit(json.loads(line[len(prefix):]), float(header["fetched_at"]))
    return IndexHit(None, float(header["fetched_at"]))
