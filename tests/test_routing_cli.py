"""Routing, reasoning and caching flags on chat and stream, end to end against the fake server.

The mapping of each flag onto the body is pure (tests/test_routing.py); here each flag is
shown to reach the request that is sent, the cache headers to travel and come back, and
the guards to take the worst case over every listed model.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.fake_openrouter import (
    DEFAULT_MODEL,
    Reply,
    chunk,
    completion,
    data,
    ignore_client_resets,
    stream_of,
    usage_chunk,
)
from tests.test_completions import bash_complete, shell_env  # noqa: F401 (a fixture)
from tests.test_guards import cache_models, tokens_of
from tests.test_price import CLOSED, catalog_model

FALLBACK = "vendor/dear"


@pytest.fixture(autouse=True)
def quiet_resets(server):
    # A finished stream's connection is closed by orcli; that is no server fault.
    ignore_client_resets(server)


@pytest.mark.parametrize(("flags", "fields"), [
    (["--fallback", "openai/gpt-4o", "--fallback", "vendor/x"],
     {"model": DEFAULT_MODEL, "models": [DEFAULT_MODEL, "openai/gpt-4o", "vendor/x"]}),
    (["--provider", "mistral", "--provider", "deepinfra"],
     {"provider": {"order": ["mistral", "deepinfra"]}}),
    (["--only", "mistral", "--ignore", "azure"],
     {"provider": {"only": ["mistral"], "ignore": ["azure"]}}),
    (["--provider-sort", "latency", "--no-fallbacks"],
     {"provider": {"sort": "latency", "allow_fallbacks": False}}),
    (["--zdr", "--deny-data-collection", "--require-parameters"],
     {"provider": {"zdr": True, "data_collection": "deny", "require_parameters": True}}),
    (["--reasoning-effort", "minimal"], {"reasoning": {"effort": "minimal"}}),
    (["--reasoning-tokens", "4000"], {"reasoning": {"max_tokens": 4000}}),
    (["-o", 'provider={"quantizations": ["fp8"]}', "--zdr"],
     {"provider": {"quantizations": ["fp8"], "zdr": True}}),
])
def test_each_flag_reaches_the_body_sent(server, run, flags: list[str], fields: dict):
    server.json(completion("ok"))
    server.sse(stream_of(["ok"]))
    run("chat", "hi", *flags)
    run("stream", "hi", *flags)
    for sent in server.requests:
        body = sent.json()
        assert {k: body.get(k) for k in fields} == fields
        assert "x-openrouter-cache" not in sent.headers


def test_dry_run_shows_the_routed_body_with_no_key_or_network(run):
    result = run("chat", "hi", "--fallback", "openai/gpt-4o", "--provider-sort", "price",
                 "--dry-run", key=False, base_url=CLOSED)
    body = json.loads(result.stdout)
    assert body["models"] == [DEFAULT_MODEL, "openai/gpt-4o"]
    assert body["provider"] == {"sort": "price"}


@pytest.mark.parametrize(("args", "words"), [
    (["-o", 'provider={"sort": "throughput"}', "--provider-sort", "price"],
     "--provider-sort and -o provider="),
    (["--reasoning-effort", "low", "--reasoning-tokens", "100"], "give one"),
    (["--reasoning-effort", "max"], "must be one of none, minimal, low, medium, high, xhigh"),
    (["--provider-sort", "cheapest"], "must be one of price, throughput, latency"),
    (["--cache-ttl", "90000"], "between 1 and 86400"),
])
def test_contradicting_or_bad_flags_exit_2_and_send_nothing(server, run, args, words):
    for command in ("chat", "stream"):
        assert words in run(command, "hi", *args, expect=2).stderr
    assert server.requests == []


# ---- the response cache --------------------------------------------------------------------

def test_cache_flags_send_the_cache_headers(server, run):
    server.json(completion("ok"))
    server.sse(stream_of(["ok"]))
    run("chat", "hi", "--cache")
    run("stream", "hi", "--cache-ttl", "3600")
    chat, stream = server.requests
    assert chat.headers["x-openrouter-cache"] == "true"
    assert "x-openrouter-cache-ttl" not in chat.headers
    assert stream.headers["x-openrouter-cache"] == "true"
    assert stream.headers["x-openrouter-cache-ttl"] == "3600"
    assert "X-OpenRouter-Cache" not in chat.body.decode()  # a header, never a body field


def cached_json(status: str) -> Reply:
    answer = completion("ok", use={"prompt_tokens": 0, "completion_tokens": 0, "cost": 0})
    return Reply(200, {"Content-Type": "application/json", "X-OpenRouter-Cache-Status": status},
                 [json.dumps(answer).encode()])


def cached_stream(status: str) -> Reply:
    return Reply(200, {"Content-Type": "text/event-stream", "X-OpenRouter-Cache-Status": status},
                 stream_of(["ok"]), framing="chunked")


def test_a_cache_hit_says_cached_in_the_usage_line(server, run):
    server.reply(cached_json("HIT"))
    server.reply(cached_stream("HIT"))
    assert run("chat", "hi", "--cache", "--usage").stderr.rstrip().endswith("(cached)")
    assert run("stream", "hi", "--cache", "--usage").stderr.rstrip().endswith("(cached)")


def test_a_cache_miss_is_not_called_cached(server, run):
    server.reply(cached_json("MISS"))
    server.reply(cached_stream("MISS"))
    assert "(cached)" not in run("chat", "hi", "--cache", "--usage").stderr
    assert "(cached)" not in run("stream", "hi", "--cache", "--usage").stderr


# ---- the model that served -----------------------------------------------------------------

def served_by(model: str) -> list[bytes]:
    """A stream whose chunks say `model` served it, as after a fallback."""
    pieces = [chunk("", role=True), chunk("ok"), chunk("", finish_reason="stop"), usage_chunk()]
    for piece in pieces:
        piece["model"] = model
    return [data(p) for p in pieces] + [b"data: [DONE]\n\n"]


def test_usage_json_and_jsonl_name_the_fallback_that_served(server, run):
    server.json(completion("ok", model="openai/gpt-4o"))
    server.json(completion("ok", model="openai/gpt-4o"))
    server.sse(served_by("openai/gpt-4o"))
    server.sse(served_by("openai/gpt-4o"))
    args = ("hi", "--fallback", "openai/gpt-4o", "--usage")
    assert run("chat", *args).stderr.startswith("orcli: openai/gpt-4o: ")
    assert json.loads(run("chat", *args, "--json").stdout)["model"] == "openai/gpt-4o"
    assert run("stream", *args).stderr.startswith("orcli: openai/gpt-4o: ")
    events = [json.loads(line) for line in run("stream", *args, "--jsonl").stdout.splitlines()]
    assert events[-1]["type"] == "done" and events[-1]["model"] == "openai/gpt-4o"


# ---- supported efforts ---------------------------------------------------------------------

def reasoning_model(efforts: list[str] | None) -> dict:
    entry = catalog_model("vendor/thinker", "0.000001", "0.000002")
    entry["reasoning"] = {"supported_efforts": efforts, "default_effort": "medium"}
    return entry


def test_an_effort_the_cached_catalog_does_not_list_exits_2_naming_those_it_does(
        server, run, isolated_env):
    cache_models(isolated_env, server.base_url, [reasoning_model(["low", "high"])])
    result = run("chat", "hi", "-m", "vendor/thinker", "--reasoning-effort", "xhigh", expect=2)
    assert "vendor/thinker" in result.stderr and "low, high" in result.stderr
    assert server.requests == []


@pytest.mark.parametrize("efforts", [["low", "high"], None])
def test_a_listed_effort_or_a_model_listing_none_is_sent(server, run, isolated_env, efforts):
    cache_models(isolated_env, server.base_url, [reasoning_model(efforts)])
    server.json(completion("ok"))
    run("chat", "hi", "-m", "vendor/thinker", "--reasoning-effort", "low")
    assert server.requests[0].json()["reasoning"] == {"effort": "low"}


# ---- the guards over every listed model ----------------------------------------------------

def test_the_budget_takes_the_dearest_listed_model(server, run, isolated_env):
    # The fallback's output costs 10 times the default model's, so it sets max_tokens.
    cache_models(isolated_env, server.base_url, [catalog_model(FALLBACK, "0.0000001", "0.00002")])
    result = run("chat", "hi", "--fallback", FALLBACK, "--max-cost", "0.001", "--dry-run")
    worst_prompt, worst_completion = Decimal("0.0000004"), Decimal("0.00002")
    expected = int((Decimal("0.001") - tokens_of("hi") * worst_prompt) // worst_completion)
    assert json.loads(result.stdout)["max_tokens"] == expected == 49


def test_a_fallback_with_variable_prices_refuses_the_budget_with_exit_4(
        server, run, isolated_env):
    cache_models(isolated_env, server.base_url, [catalog_model("openrouter/auto", "-1", "-1")])
    result = run("chat", "hi", "--fallback", "openrouter/auto", "--max-cost", "1", expect=4)
    assert "openrouter/auto" in result.stderr and "nothing was sent" in result.stderr
    assert server.requests == []


def test_a_fallback_the_catalog_does_not_know_refuses_the_budget_with_exit_4(
        server, run, isolated_env):
    cache_models(isolated_env, server.base_url, [catalog_model(FALLBACK, "0", "0")])
    result = run("chat", "hi", "--fallback", "vendor/nosuch", "--max-cost", "1", expect=4)
    assert "unknown model 'vendor/nosuch'" in result.stderr and server.requests == []


def test_the_context_guard_takes_the_smallest_known_context(server, run, isolated_env):
    cache_models(isolated_env, server.base_url, [catalog_model("vendor/tiny", "0", "0", 5)])
    text = "one two three four five six seven eight nine ten"
    result = run("stream", text, "--fallback", "vendor/tiny", expect=8)
    assert "over vendor/tiny's context of 5" in result.stderr and server.requests == []


# ---- completion ----------------------------------------------------------------------------

def test_bash_completes_the_new_values(request: pytest.FixtureRequest) -> None:
    env = request.getfixturevalue("shell_env")  # the fixture of test_completions
    assert bash_complete(["orcli", "chat", "--provider-sort", ""], env) == [
        "price", "throughput", "latency"]
    assert bash_complete(["orcli", "stream", "--reasoning-effort", "m"], env) == [
        "minimal", "medium"]
    assert bash_complete(["orcli", "chat", "--fallback", "qwen"], env) == [
        "qwen/qwen3-coder"]
    assert bash_complete(["orcli", "models", ""], env) == ["endpoints", "show"]
    assert bash_complete(["orcli", "models", "endpoints", "qwen"], env) == [
        "qwen/qwen3-coder"]
    assert bash_complete(["orcli", "models", "endpoints", "qwen/qwen3-coder", "--sort", ""],
                         env) == ["price", "latency", "throughput"]
