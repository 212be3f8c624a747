"""--max-cost and the context guard in chat/stream: refusals send nothing, budgets cap output."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orcli.commands.lookup import estimated_cost
from orcli.models.catalog import write_cache
from orcli.models.tokens import count_prompt
from orcli.request.guards import PromptSize
from orcli.store.config import resolve_settings
from tests.fake_openrouter import DEFAULT_MODEL, completion, stream_of
from tests.test_price import CATALOG, CLOSED, ROOT, catalog_model

PROMPT_PRICE = Decimal("0.0000004")
COMPLETION_PRICE = Decimal("0.000002")


def tokens_of(text: str, model: str = DEFAULT_MODEL) -> int:
    return count_prompt(model, [{"role": "user", "content": text}]).tokens


def cache_models(env: dict[str, str], base_url: str, models: list[dict[str, Any]],
                 age: float = 0) -> None:
    """Put a catalog in the cache the way a fetch `age` seconds ago would have."""
    cache_dir = Path(env["XDG_CACHE_HOME"]) / "orcli"
    write_cache(base_url, models, cache_dir=cache_dir, now=time.time() - age)


# --- --max-cost ---------------------------------------------------------------------------

def test_over_budget_exits_8_and_sends_nothing(server, run):
    result = run("chat", "hi", "--max-tokens", "100000", "--max-cost", "0.01", expect=8)
    worst = tokens_of("hi") * PROMPT_PRICE + 100_000 * COMPLETION_PRICE
    assert f"worst case ${worst:f}" in result.stderr
    assert "budget of $0.01" in result.stderr and "nothing was sent" in result.stderr
    assert server.requests == [] and result.stdout == ""


def test_within_budget_keeps_the_given_max_tokens(server, run):
    server.json(completion("ok"))
    run("chat", "hi", "--max-tokens", "50", "--max-cost", "0.01")
    assert server.requests[0].json()["max_tokens"] == 50


def test_option_max_tokens_counts_as_the_limit(server, run):
    run("chat", "hi", "-o", "max_tokens=100000", "--max-cost", "0.01", expect=8)
    result = run("chat", "hi", "-o", "max_tokens=ten", "--max-cost", "0.01", expect=2)
    assert "max_tokens" in result.stderr and server.requests == []


def test_max_tokens_derived_from_the_budget_is_sent(server, run):
    server.json(completion("ok"))
    run("chat", "hi", "--max-cost", "0.001")
    expected = int((Decimal("0.001") - tokens_of("hi") * PROMPT_PRICE) // COMPLETION_PRICE)
    assert server.requests[0].json()["max_tokens"] == expected == 499


def test_stream_gets_the_derived_max_tokens_too(server, run):
    server.sse(stream_of(["ok"]))
    run("stream", "hi", "--max-cost", "0.0001")
    body = server.requests[0].json()
    assert body["stream"] is True and body["max_tokens"] == 49


def test_dry_run_shows_the_derived_max_tokens_with_no_key_or_network(run):
    result = run("chat", "hi", "--max-cost", "0.001", "--dry-run", key=False, base_url=CLOSED)
    assert json.loads(result.stdout)["max_tokens"] == 499


def test_dry_run_applies_the_budget_refusal(run):
    result = run("chat", "hi", "--max-tokens", "1000", "--max-cost", "0.0001", "--dry-run",
                 key=False, base_url=CLOSED, expect=8)
    assert result.stdout == "" and "worst case" in result.stderr


def test_budget_below_the_input_cost_exits_8(server, run):
    result = run("chat", "hello there", "--max-cost", "0.000001", expect=8)
    assert "does not cover the input" in result.stderr and server.requests == []


def test_budget_for_less_than_one_output_token_exits_8(server, run):
    budget = tokens_of("hi") * PROMPT_PRICE + COMPLETION_PRICE / 2
    run("chat", "hi", "--max-cost", f"{budget:f}", expect=8)
    assert server.requests == []


def test_derived_max_tokens_is_capped_by_max_output_and_context(
        server, run, isolated_env):
    cache_models(isolated_env, server.base_url, [
        catalog_model("vendor/capped", "0.0000001", "0.0000001", context=100_000, max_out=200),
        catalog_model("vendor/small", "0.0000001", "0.0000001", context=1_000),
    ])
    server.json(completion("ok"))
    server.json(completion("ok"))
    run("chat", "hi", "-m", "vendor/capped", "--max-cost", "1")
    run("chat", "hi", "-m", "vendor/small", "--max-cost", "1")
    assert server.requests[0].json()["max_tokens"] == 200
    assert server.requests[1].json()["max_tokens"] == 1_000 - tokens_of("hi")


def test_free_output_leaves_max_tokens_unset(server, run, isolated_env):
    cache_models(isolated_env, server.base_url, [catalog_model("vendor/free", "0", "0")])
    server.json(completion("ok"))
    run("chat", "hi", "-m", "vendor/free", "--max-cost", "0")
    assert "max_tokens" not in server.requests[0].json()


def test_max_cost_fetches_the_catalog_for_other_models(server, run):
    server.json({"data": CATALOG})
    server.json(completion("ok"))
    run("chat", "hi", "-m", "vendor/cheap", "--max-cost", "0.01")
    fetch, post = server.requests
    assert (fetch.method, fetch.path) == ("GET", "/api/v1/models")
    assert post.json()["max_tokens"] == 100_000 - tokens_of("hi")  # room left in the context


def test_max_cost_offline_uses_a_stale_cache_with_a_note(run, isolated_env):
    cached = catalog_model("vendor/cheap", "0.0000001", "0.000001", context=500)
    cache_models(isolated_env, CLOSED, [cached], age=3 * 3600)
    result = run("chat", "hi", "-m", "vendor/cheap", "--max-cost", "0.01", "--dry-run",
                 "--retries", "0", key=False, base_url=CLOSED)
    assert json.loads(result.stdout)["max_tokens"] == 500 - tokens_of("hi", "vendor/cheap")
    assert result.stderr.startswith("orcli: note: offline (cannot reach")
    assert result.stderr.endswith("using the model list cached 3 h ago\n")


@pytest.mark.parametrize("budget", ["1e20", "1e60", "1e100", "1e999999"])
def test_a_huge_budget_is_capped_by_the_context(run, budget):
    result = run("chat", "hi", "--max-cost", budget, "--dry-run", key=False, base_url=CLOSED)
    assert json.loads(result.stdout)["max_tokens"] == 262_144 - tokens_of("hi")


def test_a_huge_budget_with_no_other_cap_leaves_max_tokens_unset(run, isolated_env):
    models = [catalog_model("vendor/open", "0.0000001", "0.0000001", context=None),
              catalog_model("vendor/capped", "0.0000001", "0.0000001", context=None, max_out=64)]
    cache_models(isolated_env, CLOSED, models)
    open_ended = run("chat", "hi", "-m", "vendor/open", "--max-cost", "1e60", "--dry-run",
                     key=False, base_url=CLOSED)
    assert "max_tokens" not in json.loads(open_ended.stdout)
    capped = run("chat", "hi", "-m", "vendor/capped", "--max-cost", "1e60", "--dry-run",
                 key=False, base_url=CLOSED)
    assert json.loads(capped.stdout)["max_tokens"] == 64
    # A budget that does bound the answer is still sent, however large the number.
    bounded = run("chat", "hi", "-m", "vendor/open", "--max-cost", "100", "--dry-run",
                  key=False, base_url=CLOSED)
    assert json.loads(bounded.stdout)["max_tokens"] == int(
        (Decimal(100) - tokens_of("hi", "vendor/open") * Decimal("0.0000001"))
        // Decimal("0.0000001"))


def test_max_cost_with_a_model_missing_from_the_catalog_exits_4(server, run):
    server.json({"data": CATALOG})
    result = run("chat", "hi", "-m", "nosuch/model", "--max-cost", "0.01", expect=4)
    assert "unknown model 'nosuch/model'" in result.stderr
    assert [r.method for r in server.requests] == ["GET"]


def test_max_cost_with_the_catalog_unreachable_exits_7(run):
    result = run("chat", "hi", "-m", "openai/gpt-4o", "--max-cost", "0.01", "--retries", "0",
                 base_url=CLOSED, expect=7)
    assert "cannot reach" in result.stderr


def test_variable_prices_cannot_be_budgeted(server, run):
    server.json({"data": CATALOG})
    result = run("chat", "hi", "-m", "openrouter/auto", "--max-cost", "0.01", expect=8)
    assert "variable prices" in result.stderr and len(server.requests) == 1


# --- the context guard ----------------------------------------------------------------------

def test_input_over_a_cached_context_exits_8_saying_by_how_much(server, run, isolated_env):
    cache_models(isolated_env, server.base_url, [catalog_model("vendor/tiny", "0", "0", 10)])
    text = "one two three four five six seven eight nine ten eleven"
    result = run("chat", text, "-m", "vendor/tiny", expect=8)
    tokens = tokens_of(text, "vendor/tiny")
    assert (f"input is about {tokens:,} tokens (estimate), {tokens - 10:,} over vendor/tiny's "
            "context of 10") in result.stderr
    assert server.requests == []


def test_context_guard_uses_a_stale_cache_and_never_fetches(server, run, isolated_env):
    cache_models(isolated_env, server.base_url, [catalog_model("vendor/tiny", "0", "0", 10)],
                 age=30 * 24 * 3600)
    result = run("chat", "one two three four five six seven eight nine ten", "-m",
                 "vendor/tiny", expect=8)
    assert "over vendor/tiny's context of 10" in result.stderr and server.requests == []


def test_default_model_input_over_its_context_exits_8(server, run):
    text = " a" * 300_000  # one token per 2 bytes, so over 262,144 tokens
    result = run("chat", "--dry-run", stdin=text, key=False, expect=8)
    assert tokens_of(text) > 262_144
    # Counting stops once past the context, so the message gives a lower bound.
    found = re.search(r"input is at least ([\d,]+) tokens \(counting stopped there\), more "
                      rf"than {DEFAULT_MODEL}'s context of 262,144 by ([\d,]+) or more; "
                      "nothing was sent", result.stderr)
    assert found, result.stderr
    at_least, over = (int(group.replace(",", "")) for group in found.groups())
    assert 262_144 < at_least <= tokens_of(text) and over == at_least - 262_144
    assert result.stdout == "" and server.requests == []


def test_stream_also_refuses_input_over_the_context(server, run):
    run("stream", stdin=" a" * 300_000, expect=8)
    assert server.requests == []


def test_large_input_that_fits_is_sent(server, run):
    server.json(completion("ok"))
    text = "word " * 100_000  # 500 kB, far more bytes than the context, but fewer tokens
    run("chat", stdin=text)
    assert server.requests[0].json()["messages"][0]["content"] == text


def test_unknown_context_is_not_fetched_just_for_the_guard(server, run):
    server.json(completion("ok", model="vendor/uncached"))
    run("chat", "hi", "-m", "vendor/uncached")
    assert [r.method for r in server.requests] == ["POST"]


# --- the cheap bound that spares counting -------------------------------------------------

def test_dry_run_of_a_small_prompt_never_loads_the_vocabulary(isolated_env):
    script = ("import sys; from orcli.__main__ import main; "
              "code = main(['chat', '--dry-run', '--max-tokens', '10', '--max-cost', '1', 'hi']);"
              " print(code, 'tiktoken' in sys.modules)")
    env = isolated_env | {"OPENROUTER_BASE_URL": CLOSED, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], input=b"", capture_output=True,
                          env=env, timeout=60)
    assert done.stdout.decode().splitlines()[-1] == "0 False", done.stderr.decode()


TEXT = st.text(st.characters(codec="utf-8"), max_size=300)
PART = st.fixed_dictionaries({"type": st.just("text"), "text": TEXT})
MESSAGE = st.fixed_dictionaries({
    "role": st.sampled_from(["system", "user", "assistant", "tool", "developer"]),
    "content": st.one_of(TEXT, st.lists(PART, max_size=3)),
})


@settings(max_examples=200, deadline=None)
@given(st.lists(MESSAGE, max_size=6))
def test_the_cheap_bound_is_never_below_the_count(messages):
    prompt = PromptSize(DEFAULT_MODEL, messages)
    bound = prompt.upper_bound()
    assert bound is not None and bound >= prompt.count().tokens


def test_no_cheap_bound_with_tools_or_tool_calls():
    tools = [{"type": "function", "function": {"name": "f"}}]
    assert PromptSize(DEFAULT_MODEL, [{"role": "user", "content": "x"}], tools).upper_bound() \
        is None
    call = {"id": "1", "type": "function", "function": {"name": "f", "arguments": "[1,2]"}}
    messages = [{"role": "user", "content": "x"},
                {"role": "assistant", "content": None, "tool_calls": [call]}]
    assert PromptSize(DEFAULT_MODEL, messages).upper_bound() is None


# --- the usage line's estimate --------------------------------------------------------------

def test_usage_line_says_estimated_without_the_apis_cost(server, run):
    server.json(completion("ok", use={"prompt_tokens": 3, "completion_tokens": 7}))
    result = run("chat", "hi", "--usage")
    assert result.stderr == f"orcli: {DEFAULT_MODEL}: 3 in, 7 out tokens, $0.0000152 (estimated)\n"


def test_usage_estimate_uses_cached_catalog_prices(server, run, isolated_env):
    cache_models(isolated_env, server.base_url, [catalog_model("vendor/c", "0.000001", "0.00001")])
    use = {"prompt_tokens": 10, "completion_tokens": 1}
    server.json(completion("ok", model="vendor/c", use=use))
    server.json(completion("ok", model="vendor/other", use=use))
    assert "$0.00002 (estimated)" in run("chat", "hi", "-m", "vendor/c", "--usage").stderr
    assert "cost unknown" in run("chat", "hi", "-m", "vendor/other", "--usage").stderr
    assert [r.method for r in server.requests] == ["POST", "POST"]  # no catalog fetch


def test_estimate_usage_cost_needs_known_prices_and_counts(tmp_path: Path):
    assert estimated_cost(DEFAULT_MODEL, 3, 7, None, None) == Decimal("0.0000152")
    assert estimated_cost(DEFAULT_MODEL, None, 7, None, None) is None
    assert estimated_cost(DEFAULT_MODEL, 3, 7.5, None, None) is None  # type: ignore[arg-type]
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    conf = resolve_settings({}, {}, {}, "none")
    cache_models(env, conf.base_url, [catalog_model("openrouter/auto", "-1", "-1")])
    assert estimated_cost("vendor/x", 3, 7, conf, env) is None
    assert estimated_cost("openrouter/auto", 3, 7, conf, env) is None


def test_a_calibrated_estimate_is_scaled_and_so_is_its_bound():
    from orcli.models.calibration import Calibration

    messages = [{"role": "user", "content": "hello there, how are you today?"}]
    plain = PromptSize("vendor/est", messages)
    scaled = PromptSize("vendor/est", messages, calibration=Calibration(Decimal("1.5"), 4))
    assert scaled.count().tokens == math.ceil(plain.count().tokens * 1.5)
    assert scaled.upper_bound() >= scaled.count().tokens
    exact = PromptSize(DEFAULT_MODEL, messages, calibration=Calibration(Decimal("1.5"), 4))
    assert exact.count().tokens == PromptSize(DEFAULT_MODEL, messages).count().tokens
