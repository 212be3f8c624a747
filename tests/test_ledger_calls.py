"""chat and stream record every answered call in the ledger, and keep the budgets."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from orcli.store.ledger import Ledger
from tests.fake_openrouter import (
    DONE,
    ERR_402,
    chunk,
    completion,
    data,
    error_body,
    generation_data,
)


@pytest.fixture
def ledger_env(tmp_path: Path) -> dict[str, str]:
    return {"ORCLI_LEDGER": str(tmp_path / "ledger.db")}


def records(env: dict[str, str]) -> list:
    return list(Ledger(Path(env["ORCLI_LEDGER"]), lambda _: None).iter_records())


def test_a_chat_call_is_recorded_with_what_it_cost_and_nothing_of_its_text(
        server, run, ledger_env):
    server.json(completion("the secret answer", model="mistralai/devstral-2512"))
    run("chat", "the secret prompt", "--tag", "job=lint", env=ledger_env | {"ORCLI_TAGS": "ci=1"})
    (rec,) = records(ledger_env)
    assert (rec.command, rec.model_asked, rec.model_served, rec.exit_code) == \
        ("chat", "mistralai/devstral-2512", "mistralai/devstral-2512", 0)
    assert (rec.prompt_tokens, rec.completion_tokens) == (3, 7)
    assert (rec.cost, rec.cost_source) == (Decimal("0.0000152"), "billed")
    assert rec.generation_id.startswith("gen-") and rec.provider == "Mistral"
    assert rec.tags == {"ci": "1", "job": "lint"}
    raw = Path(ledger_env["ORCLI_LEDGER"]).read_bytes()
    assert b"secret" not in raw


@pytest.mark.parametrize("off", [["--no-ledger"], []])
def test_no_ledger_or_orcli_ledger_off_records_nothing(server, run, tmp_path, off):
    server.json(completion("ok"))
    env = {"ORCLI_LEDGER": "off"} if not off else {"ORCLI_LEDGER": str(tmp_path / "l.db")}
    run("chat", "hi", *off, env=env)
    assert not (tmp_path / "l.db").exists()


def test_an_error_reply_is_recorded_with_its_exit_code(server, run, ledger_env):
    server.json(ERR_402, status=402)
    run("chat", "hi", env=ledger_env, expect=5)
    (rec,) = records(ledger_env)
    assert rec.exit_code == 5 and rec.cost_source == "unknown"


def test_a_connection_that_never_answered_is_not_recorded(run, ledger_env):
    run("chat", "hi", "--retries", "0", base_url="http://127.0.0.1:9/v1", env=ledger_env,
        expect=7)
    assert records(ledger_env) == []


def test_a_cut_stream_is_recorded_with_its_id_and_an_estimate_then_the_bill(
        server, run, ledger_env):
    server.sse([data(chunk("partial answer"))], framing="close")
    run("stream", "hi", env=ledger_env, expect=7)
    (rec,) = records(ledger_env)
    assert rec.exit_code == 7 and rec.generation_id.startswith("gen-")
    assert rec.cost_source == "estimated" and rec.cost > 0
    server.json(generation_data(rec.generation_id, total_cost=0.0042))
    run("generation", rec.generation_id, env=ledger_env)
    assert records(ledger_env)[0].cost == Decimal("0.0042")


def test_a_complete_stream_is_recorded_billed(server, run, ledger_env):
    server.sse([data(chunk("a", finish_reason="stop")),
                data({"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 1,
                                               "cost": 0.5}}), DONE])
    run("stream", "hi", env=ledger_env)
    (rec,) = records(ledger_env)
    assert (rec.command, rec.cost, rec.cost_source) == ("stream", Decimal("0.5"), "billed")


def spend_one_dollar(server, run, env) -> None:
    answer = completion("ok")
    answer["usage"]["cost"] = 1
    server.json(answer)
    run("chat", "hi", env=env)


def test_a_daily_budget_refuses_what_would_pass_it_and_sends_nothing(server, run, ledger_env):
    spend_one_dollar(server, run, ledger_env)
    env = ledger_env | {"ORCLI_BUDGET_DAILY": "1.0001"}
    result = run("chat", "hi", "--max-tokens", "1000", env=env, expect=8)
    assert "budget_daily" in result.stderr and "nothing was sent" in result.stderr
    assert len(server.requests) == 1


def test_without_max_tokens_a_budget_sends_the_largest_that_fits(server, run, ledger_env):
    spend_one_dollar(server, run, ledger_env)
    server.json(completion("ok"))
    run("chat", "hi", env=ledger_env | {"ORCLI_BUDGET_MONTHLY": "1.001"})
    # $0.001 left at $2 per million output tokens: at most 500 tokens, less the input.
    assert 0 < server.requests[1].json()["max_tokens"] <= 500


def test_a_budget_with_the_ledger_off_exits_3(run):
    result = run("chat", "--dry-run", "hi", key=False,
                 env={"ORCLI_LEDGER": "off", "ORCLI_BUDGET_DAILY": "5"}, expect=3)
    assert "ledger" in result.stderr


def test_price_calibrates_an_estimate_from_billed_calls(server, run, ledger_env, isolated_env):
    from tests.test_guards import cache_models, catalog_model

    cache_models(isolated_env, server.base_url,
                 [catalog_model("vendor/est", "0.000001", "0.000002")])
    for _ in range(3):  # orcli counts 5 tokens for "hi there"; each call was billed 7
        server.json(completion("ok", model="vendor/est",
                               use={"prompt_tokens": 7, "completion_tokens": 1}))
        run("chat", "-m", "vendor/est", "hi there", env=ledger_env)
    assert [r.counted_prompt_tokens for r in records(ledger_env)] == [5, 5, 5]
    out = json.loads(run("price", "-m", "vendor/est", "hi there", "--json",
                         env=ledger_env).stdout)
    assert (out["input_tokens"], out["calibrated_on"]) == (7, 3)


def test_a_full_calibration_is_counted_again_only_once_in_ten_calls(server, run, ledger_env,
                                                                     isolated_env):
    # Counting after the answer loads the vocabulary (0.2 s, 50 MB) for a call that
    # needed no count; with 20 calibrated calls on record, only every tenth pays.
    from orcli.models import tekken
    from tests.test_guards import cache_models, catalog_model
    from tests.test_ledger import make

    cache_models(isolated_env, server.base_url,
                 [catalog_model("vendor/est", "0.000001", "0.000002")])
    seed = Ledger(Path(ledger_env["ORCLI_LEDGER"]), lambda _: None)
    for _ in range(20):
        assert seed.record(make(model_served="vendor/est", prompt_tokens=7,
                                counted_prompt_tokens=5, count_kind="estimate"))
    tekken._tekken.cache_clear()  # as in a new process: this one's tests may have counted
    for _ in range(10):
        server.json(completion("ok", model="vendor/est",
                               use={"prompt_tokens": 7, "completion_tokens": 1}))
        run("chat", "-m", "vendor/est", "hi there", env=ledger_env)
    assert [r.counted_prompt_tokens for r in records(ledger_env)[20:]] == [None] * 9 + [5]


def test_an_error_body_is_not_billed(server, run, ledger_env):
    server.json(error_body(400, "bad"), status=400)
    run("chat", "hi", env=ledger_env, expect=4)
    assert records(ledger_env)[0].cost is None


def test_a_budget_already_spent_refuses_with_exit_8(server, run, ledger_env):
    spend_one_dollar(server, run, ledger_env)
    result = run("chat", "hi", env=ledger_env | {"ORCLI_BUDGET_DAILY": "0.5"}, expect=8)
    assert "$0.00 that budget_daily/budget_monthly leave" in result.stderr
    assert len(server.requests) == 1


def test_spend_by_model_says_how_far_estimates_were_from_the_bill(server, run, ledger_env,
                                                                  isolated_env):
    from tests.test_guards import cache_models, catalog_model

    cache_models(isolated_env, server.base_url, [catalog_model("vendor/est", "0.000001",
                                                               "0.000002")])
    for billed in (6, 6, 7):  # orcli counts 5 tokens for "hi there"
        server.json(completion("ok", model="vendor/est",
                               use={"prompt_tokens": billed, "completion_tokens": 1}))
        run("chat", "-m", "vendor/est", "hi there", env=ledger_env)
    result = run("spend", "--by", "model", env=ledger_env)
    assert "vendor/est: estimated prompt tokens were 20% off the billed count" in result.stderr
    assert result.stdout.startswith("vendor/est\t3\t")
