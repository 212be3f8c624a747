"""The catalog's index, and catalog values no model can have.

The index beside the cache answers "what is known about model X" (prices,
context, input modalities, supported efforts) without parsing the catalog, and
is never believed when it does not match the cache it was written with. Values
that cannot be right (`created: 1e20`, `created: 0`, a context of -5) read as
unknown; llama.cpp's `meta.n_ctx` is a context length.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orcli.errors import UnknownModelError
from orcli.models import cache, catalog
from orcli.models.facts import created_at, facts_from_model

BASE = "https://openrouter.ai/api/v1"
NOW = 1_750_000_000.0
CATALOG = json.loads((Path(__file__).parent / "data" / "models.json").read_text("utf-8"))
MODELS: list[dict[str, Any]] = CATALOG["data"]
REASONER = {"id": "x/reasoner", "context_length": 32768,
            "pricing": {"prompt": "0.0000011", "completion": "0.0000044"},
            "architecture": {"input_modalities": ["text", "image"]},
            "reasoning": {"supported_efforts": ["low", "high"]}}


def _no_full_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the whole catalog was parsed")

    monkeypatch.setattr(catalog, "read_cache", refuse)
    monkeypatch.setattr(catalog, "cached_catalog", refuse)


def test_the_index_answers_as_the_catalog_would_without_parsing_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = [*MODELS, REASONER]
    catalog.write_cache(BASE, models, cache_dir=tmp_path, now=NOW)
    _no_full_parse(monkeypatch)
    for model in models:
        known = catalog.known_model(model["id"], BASE, tmp_path)
        want = catalog.builtin_facts(model["id"]) or facts_from_model(model)
        assert known == want, model["id"]
    reasoner = catalog.known_model("x/reasoner", BASE, tmp_path)
    assert reasoner is not None
    assert reasoner.prices.prompt == Decimal("0.0000011")
    assert reasoner.input_modalities == ("text", "image")
    assert reasoner.supported_efforts == ("low", "high")
    assert catalog.known_model("no/such-model", BASE, tmp_path) is None


def test_a_fresh_index_prices_a_model_without_parsing_or_fetching(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog.write_cache(BASE, [REASONER], cache_dir=tmp_path, now=NOW)
    _no_full_parse(monkeypatch)

    def no_fetch() -> list[dict[str, Any]]:
        raise AssertionError("fetched")

    prices = catalog.model_prices("x/reasoner", base_url=BASE, cache_dir=tmp_path,
                                  fetch=no_fetch, warn=print, now=NOW + 60)
    assert (prices.prompt, prices.context_length) == (Decimal("0.0000011"), 32768)


def test_an_index_that_does_not_match_its_cache_is_not_believed(tmp_path: Path) -> None:
    catalog.write_cache(BASE, [REASONER], cache_dir=tmp_path, now=NOW)
    index = cache.index_path(cache.cache_path(BASE, tmp_path)).read_bytes()
    # Another writer replaced the cache; this index is from before.
    changed = dict(REASONER, context_length=4096)
    catalog.write_cache(BASE, [changed], cache_dir=tmp_path, now=NOW + 1)
    cache.index_path(cache.cache_path(BASE, tmp_path)).write_bytes(index)
    assert cache.look_up(BASE, tmp_path, "x/reasoner") is None
    assert catalog.known_context_length("x/reasoner", BASE, tmp_path) == 4096


def test_an_index_that_is_a_fifo_is_passed_over(tmp_path: Path) -> None:
    import os

    catalog.write_cache(BASE, [REASONER], cache_dir=tmp_path, now=NOW)
    index = cache.index_path(cache.cache_path(BASE, tmp_path))
    index.unlink()
    os.mkfifo(index)
    assert catalog.known_context_length("x/reasoner", BASE, tmp_path) == 32768


def test_an_unknown_model_in_a_fresh_index_gets_close_matches(tmp_path: Path) -> None:
    catalog.write_cache(BASE, MODELS, cache_dir=tmp_path, now=NOW)
    with pytest.raises(UnknownModelError, match="did you mean: openai/gpt-4o"):
        catalog.model_prices("openai/gpt-4oo", base_url=BASE, cache_dir=tmp_path,
                             fetch=list, warn=print, now=NOW + 60)


def test_price_of_an_unknown_model_names_close_matches(run, server) -> None:
    server.json(CATALOG)
    result = run("price", "-m", "openai/gpt-4oo", "hi", expect=4)
    assert "did you mean: openai/gpt-4o" in result.stderr


@pytest.mark.parametrize("created", [10**20, 0, -5, True, 1.7e9, "1700000000", None])
def test_created_that_is_no_plausible_time_is_unknown(created: object) -> None:
    assert created_at({"id": "a/b", "created": created}) is None


def test_models_show_and_sort_with_absurd_created_times(run, server) -> None:
    odd = [{"id": "a/huge", "created": 10**20}, {"id": "a/zero", "created": 0},
           {"id": "a/real", "created": 1_700_000_000}]
    server.json({"data": odd})
    listing = run("models", "--sort", "created")
    assert [line.split("\t")[0] for line in listing.stdout.splitlines()] == \
        ["a/real", "a/huge", "a/zero"]
    for model_id in ("a/huge", "a/zero"):
        shown = run("models", "show", model_id)
        assert "created:               unknown\n" in shown.stdout
    assert "created:               2023-11-14\n" in run("models", "show", "a/real").stdout


def test_llama_cpp_n_ctx_is_the_context_length(run, server) -> None:
    # What llama.cpp's llama-server lists under /v1/models.
    local = {"id": "qwen2.5-0.5b-instruct-q4_k_m.gguf", "object": "model", "created": 1750000000,
             "owned_by": "llamacpp", "meta": {"vocab_type": 2, "n_vocab": 151936,
                                               "n_ctx_train": 32768, "n_ctx": 4096}}
    server.json({"object": "list", "data": [local]})
    listing = run("models")
    assert listing.stdout.split("\t")[:2] == [local["id"], "4096"]
    # The context guard then knows it, from the cache, without a fetch.
    refused = run("chat", "-m", local["id"], "--dry-run", "word " * 5000, expect=8)
    assert "over qwen2.5-0.5b-instruct-q4_k_m.gguf's context of 4,096" in refused.stderr


def test_a_context_of_zero_or_less_is_unknown() -> None:
    for context in (0, -5):
        assert facts_from_model({"id": "a/b", "context_length": context}).prices \
            .context_length is None
