"""The /models catalog: cache behaviour (time injected), filters, sorting and look-ups."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orcli.errors import ApiError, ExitStatus, UnknownModelError, UpstreamError
from orcli.models import catalog
from orcli.models.catalog import (
    cache_dir_from_env,
    cache_path,
    cached_catalog,
    find_model,
    format_age,
    known_context_length,
    load_catalog,
    model_prices,
    select_models,
)
from orcli.models.pricing import BUILTIN_MODELS

BASE = "https://openrouter.ai/api/v1"
T0 = 1_750_000_000.0
HOUR = 3600.0


def _model(
    id: str,
    name: str,
    *,
    created: int,
    context: int | None,
    pricing: dict[str, str],
    inputs: tuple[str, ...] = ("text",),
    params: tuple[str, ...] = ("max_tokens", "temperature"),
    max_out: int | None = None,
) -> dict[str, Any]:
    """One entry shaped like OpenRouter's GET /models data items."""
    return {
        "id": id,
        "canonical_slug": id.split(":")[0] + "-20250101",
        "hugging_face_id": None,
        "name": name,
        "created": created,
        "description": f"{name} test entry.",
        "context_length": context,
        "architecture": {
            "modality": "+".join(inputs) + "->text",
            "input_modalities": list(inputs),
            "output_modalities": ["text"],
            "tokenizer": "Other",
            "instruct_type": None,
        },
        "pricing": pricing,
        "top_provider": {
            "context_length": context,
            "max_completion_tokens": max_out,
            "is_moderated": False,
        },
        "per_request_limits": None,
        "supported_parameters": list(params),
    }


ZERO_EXTRAS = {"request": "0", "image": "0", "web_search": "0", "internal_reasoning": "0"}
TOOLS = ("max_tokens", "temperature", "tools", "tool_choice", "response_format")

MODELS: list[dict[str, Any]] = [
    _model(
        "openrouter/auto",
        "Auto Router",
        created=1699401600,
        context=2000000,
        pricing={"prompt": "-1", "completion": "-1"},
        inputs=("text", "image"),
    ),
    _model(
        "mistralai/devstral-2512",
        "Mistral: Devstral 2 2512",
        created=1765324800,
        context=262144,
        pricing={"prompt": "0.0000004", "completion": "0.000002", **ZERO_EXTRAS},
        params=TOOLS,
    ),
    _model(
        "mistralai/devstral-small",
        "Mistral: Devstral Small 1.1",
        created=1752192000,
        context=128000,
        pricing={"prompt": "0.00000007", "completion": "0.00000028"},
        params=TOOLS,
    ),
    _model(
        "meta-llama/llama-3.3-70b-instruct:free",
        "Meta: Llama 3.3 70B Instruct (free)",
        created=1733506137,
        context=65536,
        pricing={"prompt": "0", "completion": "0", **ZERO_EXTRAS},
    ),
    _model(
        "openai/gpt-4o-mini",
        "OpenAI: GPT-4o-mini",
        created=1721260800,
        context=128000,
        pricing={
            "prompt": "0.00000015",
            "completion": "0.0000006",
            "request": "0",
            "image": "0.000217",
            "web_search": "0",
            "internal_reasoning": "0",
            "input_cache_read": "0.000000075",
        },
        inputs=("text", "image", "file"),
        params=TOOLS,
        max_out=16384,
    ),
    _model(
        "anthropic/claude-sonnet-4",
        "Anthropic: Claude Sonnet 4",
        created=1747930371,
        context=1000000,
        pricing={
            "prompt": "0.000003",
            "completion": "0.000015",
            "image": "0.0048",
            "input_cache_read": "0.0000003",
            "input_cache_write": "0.00000375",
        },
        inputs=("image", "text", "file"),
        params=TOOLS,
        max_out=64000,
    ),
    _model(
        "nousresearch/hermes-3-llama-3.1-405b",
        "Nous: Hermes 3 405B Instruct",
        created=1723766400,
        context=None,
        pricing={"prompt": "0.0000007", "completion": "0.0000008"},
    ),
    # Only prompt and completion given: the missing keys (request, image...) mean 0.
    _model(
        "qwen/qwen3-32b",
        "Qwen: Qwen3 32B",
        created=1745875945,
        context=40960,
        pricing={"prompt": "0.00000007", "completion": "0.00000014"},
        params=("max_tokens", "temperature", "tools", "reasoning"),
    ),
]


def ids(models: list[dict[str, Any]]) -> list[str]:
    return [m["id"] for m in models]


class Fetcher:
    """A fake catalog fetch that counts its calls and can simulate an outage."""

    def __init__(self, models: list[dict[str, Any]] | None = None, error: Exception | None = None):
        self.models = copy.deepcopy(MODELS) if models is None else models
        self.error = error
        self.calls = 0

    def __call__(self) -> list[dict[str, Any]]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return copy.deepcopy(self.models)


@pytest.fixture
def warnings() -> list[str]:
    return []


@pytest.fixture
def load(tmp_path: Path, warnings: list[str]) -> Callable[..., list[dict[str, Any]]]:
    def run(fetch: Fetcher, now: float, **kwargs: Any) -> list[dict[str, Any]]:
        kwargs.setdefault("base_url", BASE)
        base_url = kwargs.pop("base_url")
        return load_catalog(
            base_url, fetch, cache_dir=tmp_path, now=now, warn=warnings.append, **kwargs
        )

    return run


# --- cache location -----------------------------------------------------------------


def test_cache_dir_prefers_xdg() -> None:
    env = {"XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"}
    assert cache_dir_from_env(env) == Path("/x/cache/orcli")


@pytest.mark.parametrize("xdg", [None, "", "relative/cache"])
def test_cache_dir_falls_back_to_home(xdg: str | None) -> None:
    env = {"HOME": "/home/u"} | ({} if xdg is None else {"XDG_CACHE_HOME": xdg})
    assert cache_dir_from_env(env) == Path("/home/u/.cache/orcli")


def test_one_cache_file_per_base_url(tmp_path: Path) -> None:
    assert cache_path(BASE, tmp_path) == cache_path(BASE + "/", tmp_path)
    assert cache_path(BASE, tmp_path) != cache_path("http://127.0.0.1:8080/v1", tmp_path)
    assert cache_path(BASE, tmp_path).parent == tmp_path


def test_two_base_urls_two_cache_files(load: Any, tmp_path: Path) -> None:
    local = [MODELS[1]]
    load(Fetcher(), T0)
    load(Fetcher(local), T0, base_url="http://127.0.0.1:8080/v1/")
    assert len(list(tmp_path.glob("models-*.json"))) == 2
    assert ids(cached_catalog("http://127.0.0.1:8080/v1", cache_dir=tmp_path) or []) == [
        "mistralai/devstral-2512"
    ]
    assert len(cached_catalog(BASE, cache_dir=tmp_path) or []) == len(MODELS)


# --- cache behaviour -----------------------------------------------------------------


def test_fetch_writes_cache_then_cache_is_used(load: Any) -> None:
    fetch = Fetcher()
    assert load(fetch, T0) == MODELS
    assert load(fetch, T0 + 10) == MODELS
    assert load(fetch, T0 + HOUR - 1) == MODELS
    assert fetch.calls == 1


def test_cache_expires_after_one_hour(load: Any) -> None:
    fetch = Fetcher()
    load(fetch, T0)
    load(fetch, T0 + HOUR)
    assert fetch.calls == 2
    load(fetch, T0 + HOUR + 60)  # the refetch renewed the cache
    assert fetch.calls == 2


def test_cache_from_the_future_is_stale(load: Any) -> None:
    fetch = Fetcher()
    load(fetch, T0)
    load(fetch, T0 - 60)
    assert fetch.calls == 2


def test_refresh_skips_a_fresh_cache(load: Any) -> None:
    fetch = Fetcher()
    load(fetch, T0)
    fetch.models = fetch.models[:2]
    assert len(load(fetch, T0 + 5, refresh=True)) == 2
    assert fetch.calls == 2
    assert len(load(fetch, T0 + 10)) == 2  # the refreshed list was cached


def test_fetch_time_is_stored_in_the_file(load: Any, tmp_path: Path) -> None:
    load(Fetcher(), T0)
    stored = json.loads(cache_path(BASE, tmp_path).read_text())
    assert stored["fetched_at"] == T0
    assert stored["data"] == MODELS


def test_offline_with_stale_cache_uses_it_and_says_how_old(load: Any, warnings: list[str]) -> None:
    load(Fetcher(), T0)
    offline = Fetcher(error=UpstreamError("connection refused"))
    age = 3 * HOUR + 12 * 60 + 30
    assert load(offline, T0 + age) == MODELS
    assert offline.calls == 1
    assert warnings == [
        "orcli: note: offline (connection refused); using the model list cached 3 h 12 min ago"
    ]


def test_server_error_with_cache_uses_it(load: Any, warnings: list[str]) -> None:
    load(Fetcher(), T0)
    failing = Fetcher(error=ApiError("HTTP 503: overloaded", http_status=503))
    assert load(failing, T0 + 2 * HOUR, refresh=True) == MODELS
    assert "2 h ago" in warnings[0]


def test_refused_request_is_not_hidden_by_the_cache(load: Any) -> None:
    load(Fetcher(), T0)
    refused = Fetcher(error=ApiError("HTTP 404", ExitStatus.REFUSED, http_status=404))
    with pytest.raises(ApiError):
        load(refused, T0 + 2 * HOUR)


def test_offline_without_cache_raises(load: Any, warnings: list[str]) -> None:
    with pytest.raises(UpstreamError) as caught:
        load(Fetcher(error=UpstreamError("timed out")), T0)
    assert caught.value.status == ExitStatus.UPSTREAM
    assert warnings == []


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "",
        "[]",
        '{"format": 1, "fetched_at": "yesterday", "data": []}',
        '{"format": 99, "fetched_at": 1750000000, "data": []}',
        '{"format": 1, "base_url": "https://openrouter.ai/api/v1", "fetched_at": 1750000000}',
        '{"format": 1, "base_url": "https://elsewhere/v1", "fetched_at": 1750000000, "data": []}',
    ],
)
def test_corrupt_cache_is_treated_as_absent(load: Any, tmp_path: Path, content: str) -> None:
    cache_path(BASE, tmp_path).write_text(content)
    assert cached_catalog(BASE, cache_dir=tmp_path) is None
    fetch = Fetcher()
    assert load(fetch, T0) == MODELS
    assert fetch.calls == 1
    assert cached_catalog(BASE, cache_dir=tmp_path) == MODELS


def test_binary_garbage_cache_is_absent(tmp_path: Path) -> None:
    cache_path(BASE, tmp_path).write_bytes(b"\xff\xfe\x00garbage")
    assert cached_catalog(BASE, cache_dir=tmp_path) is None


def test_atomic_write_leaves_no_temp_files(load: Any, tmp_path: Path) -> None:
    fetch = Fetcher()
    load(fetch, T0)
    load(fetch, T0 + HOUR, refresh=True)
    cache = cache_path(BASE, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [cache.stem + ".idx", cache.name]


def test_failed_write_removes_its_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(catalog.os, "replace", broken_replace)
    with pytest.raises(OSError):
        catalog.write_cache(BASE, MODELS, cache_dir=tmp_path, now=T0)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_cache_only_warns(warnings: list[str], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")  # a file where the cache directory should be
    models = load_catalog(BASE, Fetcher(), cache_dir=blocker, now=T0, warn=warnings.append)
    assert models == MODELS
    assert warnings and warnings[0].startswith("orcli: warning: could not cache")


def test_malformed_fetch_result_is_an_upstream_error(load: Any) -> None:
    with pytest.raises(UpstreamError):
        load(Fetcher(models={"data": []}), T0)  # type: ignore[arg-type]


def test_cached_catalog_never_fetches_and_ignores_age(load: Any, tmp_path: Path) -> None:
    assert cached_catalog(BASE, cache_dir=tmp_path) is None
    load(Fetcher(), T0)
    assert cached_catalog(BASE, cache_dir=tmp_path) == MODELS


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "less than a minute"),
        (-30, "less than a minute"),
        (59, "less than a minute"),
        (60, "1 min"),
        (45 * 60, "45 min"),
        (3 * 3600, "3 h"),
        (3 * 3600 + 12 * 60 + 59, "3 h 12 min"),
        (2 * 86400 + 3 * 3600, "2 d 3 h"),
        (86400 + 59 * 60, "1 d"),
    ],
)
def test_format_age(seconds: float, text: str) -> None:
    assert format_age(seconds) == text


# --- filters and sorting ---------------------------------------------------------------


def test_default_is_all_models_by_id() -> None:
    assert ids(select_models(MODELS)) == sorted(ids(MODELS))


def test_search_is_case_insensitive_on_id_and_name() -> None:
    assert ids(select_models(MODELS, search="DEVSTRAL")) == [
        "mistralai/devstral-2512",
        "mistralai/devstral-small",
    ]
    assert ids(select_models(MODELS, search="claude SONNET")) == ["anthropic/claude-sonnet-4"]
    assert select_models(MODELS, search="no such thing") == []


def test_max_price_is_per_million_input_and_skips_variable() -> None:
    chosen = ids(select_models(MODELS, max_price=Decimal("0.15")))
    assert chosen == [
        "meta-llama/llama-3.3-70b-instruct:free",
        "mistralai/devstral-small",
        "openai/gpt-4o-mini",  # exactly at the ceiling
        "qwen/qwen3-32b",
    ]
    assert "openrouter/auto" not in ids(select_models(MODELS, max_price=Decimal(1_000_000)))


def test_min_context_skips_unknown_context() -> None:
    chosen = ids(select_models(MODELS, min_context=262144))
    assert chosen == ["anthropic/claude-sonnet-4", "mistralai/devstral-2512", "openrouter/auto"]
    assert "nousresearch/hermes-3-llama-3.1-405b" not in ids(select_models(MODELS, min_context=1))


def test_supports_needs_every_parameter() -> None:
    assert ids(select_models(MODELS, supports=["tools", "reasoning"])) == ["qwen/qwen3-32b"]
    assert len(select_models(MODELS, supports=["tools"])) == 5


def test_free_needs_both_prices_zero() -> None:
    assert ids(select_models(MODELS, free=True)) == ["meta-llama/llama-3.3-70b-instruct:free"]


def test_modality_is_an_input_modality() -> None:
    assert ids(select_models(MODELS, modality="Image")) == [
        "anthropic/claude-sonnet-4",
        "openai/gpt-4o-mini",
        "openrouter/auto",
    ]
    assert ids(select_models(MODELS, modality="file", search="openai")) == ["openai/gpt-4o-mini"]


def test_modality_falls_back_to_the_modality_string() -> None:
    old = {"id": "old/vision", "architecture": {"modality": "text+image->text"}}
    assert select_models([old], modality="image") == [old]
    assert select_models([old], modality="audio") == []


def test_sort_by_price_puts_variable_last_both_ways() -> None:
    cheapest = ids(select_models(MODELS, sort="price"))
    assert cheapest[0] == "meta-llama/llama-3.3-70b-instruct:free"
    # Equal prices keep id order.
    assert cheapest[1:3] == ["mistralai/devstral-small", "qwen/qwen3-32b"]
    assert cheapest[-2:] == ["anthropic/claude-sonnet-4", "openrouter/auto"]
    dearest = ids(select_models(MODELS, sort="price", reverse=True))
    assert dearest[0] == "anthropic/claude-sonnet-4"
    assert dearest[-1] == "openrouter/auto"


def test_sort_by_context_puts_unknown_last() -> None:
    by_context = ids(select_models(MODELS, sort="context", reverse=True))
    assert by_context[:2] == ["openrouter/auto", "anthropic/claude-sonnet-4"]
    assert by_context[-1] == "nousresearch/hermes-3-llama-3.1-405b"
    assert ids(select_models(MODELS, sort="context"))[0] == "qwen/qwen3-32b"


def test_sort_by_created_newest_first_and_limit() -> None:
    newest = ids(select_models(MODELS, sort="created", reverse=True, limit=2))
    assert newest == ["mistralai/devstral-2512", "mistralai/devstral-small"]
    assert select_models(MODELS, limit=0) == []


def test_filters_combine() -> None:
    chosen = select_models(
        MODELS, supports=["tools"], max_price=Decimal("1"), sort="price", reverse=True
    )
    assert ids(chosen) == [
        "mistralai/devstral-2512",
        "openai/gpt-4o-mini",
        "mistralai/devstral-small",
        "qwen/qwen3-32b",
    ]


def test_bad_sort_key_and_limit_are_refused() -> None:
    with pytest.raises(ValueError):
        select_models(MODELS, sort="name")
    with pytest.raises(ValueError):
        select_models(MODELS, limit=-1)


# --- look-ups -------------------------------------------------------------------------


def test_find_model_by_exact_id() -> None:
    assert find_model(MODELS, "qwen/qwen3-32b")["name"] == "Qwen: Qwen3 32B"


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("mistralai/devstral-2521", "mistralai/devstral-2512"),
        ("devstral-2512", "mistralai/devstral-2512"),  # provider left out
        ("openai/gpt4o-mini", "openai/gpt-4o-mini"),
        ("anthropic/claude-sonet-4", "anthropic/claude-sonnet-4"),
    ],
)
def test_find_model_suggests_close_ids(typed: str, suggested: str) -> None:
    with pytest.raises(UnknownModelError) as caught:
        find_model(MODELS, typed)
    message = caught.value.message
    assert caught.value.status == ExitStatus.REFUSED
    assert message.startswith(f"unknown model '{typed}'; did you mean: ")
    assert suggested in message and message.endswith("?")
    assert message.count(",") <= 2  # at most three suggestions


def test_find_model_without_any_close_match() -> None:
    with pytest.raises(UnknownModelError) as caught:
        find_model(MODELS, "zzzz/qqqq")
    assert "did you mean" not in caught.value.message


# --- prices and context for the guards ----------------------------------------------------


def test_model_prices_builtin_needs_no_cache_or_fetch(tmp_path: Path) -> None:
    fetch = Fetcher(error=UpstreamError("offline"))
    prices = model_prices(
        "mistralai/devstral-2512", base_url=BASE, cache_dir=tmp_path, fetch=fetch, warn=print
    )
    assert prices is BUILTIN_MODELS["mistralai/devstral-2512"]
    assert fetch.calls == 0


def test_model_prices_uses_a_fresh_cache_without_fetching(load: Any, tmp_path: Path) -> None:
    load(Fetcher(), T0)
    fetch = Fetcher(error=UpstreamError("offline"))
    prices = model_prices("openai/gpt-4o-mini", base_url=BASE, cache_dir=tmp_path, fetch=fetch,
                          warn=print, now=T0 + HOUR - 1)
    assert (prices.prompt, prices.completion) == (Decimal("0.00000015"), Decimal("0.0000006"))
    assert (prices.context_length, prices.max_output) == (128000, 16384)
    assert fetch.calls == 0


def test_model_prices_refetches_a_stale_cache(load: Any, tmp_path: Path) -> None:
    load(Fetcher(), T0)
    repriced = copy.deepcopy(MODELS)
    repriced[4]["pricing"] = {"prompt": "0.000001", "completion": "0.000002"}
    fetch = Fetcher(repriced)
    prices = model_prices("openai/gpt-4o-mini", base_url=BASE, cache_dir=tmp_path, fetch=fetch,
                          warn=print, now=T0 + HOUR + 1)
    assert (prices.prompt, prices.completion) == (Decimal("0.000001"), Decimal("0.000002"))
    assert fetch.calls == 1


def test_model_prices_fetches_when_no_cache(tmp_path: Path) -> None:
    fetch = Fetcher()
    prices = model_prices(
        "qwen/qwen3-32b", base_url=BASE, cache_dir=tmp_path, fetch=fetch, warn=print, now=T0
    )
    assert prices.completion == Decimal("0.00000014")
    assert fetch.calls == 1
    assert cached_catalog(BASE, cache_dir=tmp_path) is not None


def test_model_prices_unknown_model(load: Any, tmp_path: Path) -> None:
    load(Fetcher(), T0)
    with pytest.raises(UnknownModelError):
        model_prices(
            "mistralai/devstral-2521",
            base_url=BASE,
            cache_dir=tmp_path,
            fetch=Fetcher(),
            warn=print,
            now=T0 + 60,
        )


def test_model_prices_unreachable_catalog(tmp_path: Path) -> None:
    with pytest.raises(UpstreamError):
        model_prices(
            "openai/gpt-4o-mini",
            base_url=BASE,
            cache_dir=tmp_path,
            fetch=Fetcher(error=UpstreamError("offline")),
            warn=print,
            now=T0,
        )


def test_model_prices_variable_for_auto_router(load: Any, tmp_path: Path) -> None:
    load(Fetcher(), T0)
    prices = model_prices(
        "openrouter/auto", base_url=BASE, cache_dir=tmp_path, fetch=Fetcher(), warn=print
    )
    assert prices.is_variable


def test_known_context_length_never_fetches(load: Any, tmp_path: Path) -> None:
    assert known_context_length("mistralai/devstral-2512", BASE, tmp_path) == 262144
    assert known_context_length("openai/gpt-4o-mini", BASE, tmp_path) is None
    load(Fetcher(), T0)
    assert known_context_length("openai/gpt-4o-mini", BASE, tmp_path) == 128000
    assert known_context_length("nousresearch/hermes-3-llama-3.1-405b", BASE, tmp_path) is None
    assert known_context_length("no/such-model", BASE, tmp_path) is None


# --- malformed entries --------------------------------------------------------------------

MALFORMED: list[dict[str, Any]] = [
    {"id": "bad/pricing", "pricing": "x", "context_length": 1000},
    {"id": "bad/arch", "architecture": "text", "pricing": {"prompt": "0.000001"}},
    {"id": "bad/params", "supported_parameters": 5, "top_provider": "x"},
    {"id": "bad/lists", "supported_parameters": "tools", "pricing": ["0", "0"],
     "architecture": {"input_modalities": "image", "modality": 7}},
]


@pytest.mark.parametrize("options", [
    {"search": "bad"}, {"min_context": 10}, {"sort": "price"}, {"sort": "context"},
    {"sort": "created", "reverse": True},
])
def test_malformed_entries_are_listed_not_fatal(options: dict[str, Any]) -> None:
    chosen = select_models(MODELS + copy.deepcopy(MALFORMED), **options)
    assert {"bad/pricing"} <= set(ids(chosen))


def test_malformed_fields_read_as_missing() -> None:
    models = MODELS + copy.deepcopy(MALFORMED)
    bad = {m["id"] for m in MALFORMED}
    # No parameters, no modalities: such entries never pass --supports or --modality.
    assert not bad & set(ids(select_models(models, supports=["tools"])))
    assert not bad & set(ids(select_models(models, modality="image")))
    # A pricing that is absent or not an object is unknown, never free (SPEC "models").
    assert bad & set(ids(select_models(models, free=True))) == set()
    cheap = set(ids(select_models(models, max_price=Decimal(1))))
    assert bad & cheap == set()
    # Unknown and variable prices are left out of the price order: they come last, by id.
    assert ids(select_models(models, sort="price"))[-5:] == [
        "bad/arch", "bad/lists", "bad/params", "bad/pricing", "openrouter/auto"]
