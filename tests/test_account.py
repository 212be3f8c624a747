"""`orcli key` (GET /key) and `orcli generation ID` (GET /generation, whose stats lag)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from orcli.__main__ import main
from orcli.commands.account import GenerationOptions, run_generation
from orcli.errors import ApiError, ExitStatus
from orcli.render.iostreams import Streams
from orcli.store.ledger import Ledger
from orcli.store.ledger_record import LedgerRecord, utc_text
from tests.conftest import API_KEY
from tests.fake_openrouter import (
    ERR_404_GENERATION,
    FakeOpenRouter,
    generation_data,
    key_data,
)


def test_key_shows_limit_remaining_usage_and_rate_limit(run, server: FakeOpenRouter) -> None:
    server.json(key_data())
    out = run("key").stdout.splitlines()
    assert out == ["label:         sk-or-v1-au7...890",
                   "limit:         $100.00 (resets monthly)",
                   "remaining:     $74.50",
                   "usage:         $25.50 total, $1.25 today, $7.50 this week, "
                   "$25.50 this month",
                   "free tier:     no",
                   "rate limit:    1000 requests per 1h"]
    request = server.requests[0]
    assert (request.method, request.path) == ("GET", "/api/v1/key")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"


def test_key_json_is_the_data_object(run, server: FakeOpenRouter) -> None:
    server.json(key_data())
    assert json.loads(run("key", "--json").stdout) == key_data()["data"]


def test_min_remaining_exits_5_below_it_and_0_at_or_above(run, server: FakeOpenRouter) -> None:
    server.json(key_data(remaining=4.5))
    result = run("key", "--min-remaining", "5", expect=5)
    assert "the key has $4.50 left, less than --min-remaining $5.00" in result.stderr
    assert "remaining:     $4.50" in result.stdout  # the facts are printed all the same
    server.json(key_data(remaining=5))
    run("key", "--min-remaining", "5")


def test_a_key_used_past_its_limit_is_below_any_min_remaining(run, server) -> None:
    server.json(key_data(limit=10, remaining=-0.25))
    result = run("key", "--min-remaining", "0", expect=5)
    assert "remaining:     -$0.25" in result.stdout


def test_a_key_without_a_limit_never_falls_below_min_remaining(run, server) -> None:
    server.json(key_data(limit=None, remaining=None))
    out = run("key", "--min-remaining", "1000").stdout
    assert "limit:         none" in out and "remaining:     no limit" in out


def test_key_without_an_api_key_on_openrouter_is_exit_3_and_sends_nothing(run) -> None:
    result = run("key", "--base-url", "https://openrouter.ai/api/v1", key=False, expect=3)
    assert "no API key" in result.stderr


@pytest.fixture
def streams_for(isolated_env: dict[str, str], server: FakeOpenRouter, tmp_path: Path):
    def make(**extra: str) -> Streams:
        return Streams.for_test(env=isolated_env | {
            "OPENROUTER_API_KEY": API_KEY, "OPENROUTER_BASE_URL": server.base_url,
            "ORCLI_LEDGER": str(tmp_path / "ledger.db")} | extra)
    return make


class FakeTime:
    """A clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def generation_opts(fake: FakeTime, **kw: object) -> GenerationOptions:
    return GenerationOptions(generation_id="gen-42", sleep=fake.sleep, clock=fake.clock, **kw)


def test_generation_asks_again_while_the_stats_are_not_there_yet(server, streams_for) -> None:
    server.json(ERR_404_GENERATION, status=404)
    server.json(ERR_404_GENERATION, status=404)
    server.json(generation_data("gen-42"))
    fake = FakeTime()
    streams = streams_for()
    assert run_generation(generation_opts(fake), streams) == 0
    assert [r.path for r in server.requests] == ["/api/v1/generation?id=gen-42"] * 3
    assert len(fake.sleeps) == 2
    out = streams.stdout.getvalue().decode()
    assert "provider:      Mistral\n" in out
    assert "tokens:        10 in, 25 out (native); 5 reasoning, 3 cached\n" in out
    assert "cost:          $0.0015\n" in out
    assert "latency:       1,250 ms (generating 1,200 ms)\n" in out


def test_generation_gives_up_on_404_after_a_few_seconds(server, streams_for) -> None:
    for _ in range(8):
        server.json(ERR_404_GENERATION, status=404)
    fake = FakeTime()
    with pytest.raises(ApiError) as caught:
        run_generation(generation_opts(fake), streams_for())
    assert caught.value.status == ExitStatus.REFUSED
    assert 5 <= sum(fake.sleeps) <= 10
    server.replies.clear()  # how many 404s it took is the pause schedule's business


def test_generation_json_is_the_data_object(server, streams_for) -> None:
    server.json(generation_data("gen-42"))
    streams = streams_for()
    run_generation(generation_opts(FakeTime(), json_out=True), streams)
    assert json.loads(streams.stdout.getvalue()) == generation_data("gen-42")["data"]


def test_the_ledger_record_of_the_generation_takes_the_billed_cost(
        server, streams_for, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db", print)
    ledger.record(LedgerRecord(time=utc_text(), command="stream", base_url=server.base_url,
                               model_asked="m", exit_code=130, generation_id="gen-42",
                               cost=Decimal("0.001"), cost_source="estimated"))
    server.json(generation_data("gen-42", total_cost=0.0015))
    run_generation(generation_opts(FakeTime()), streams_for())
    [rec] = ledger.iter_records()
    assert (rec.cost, rec.cost_source) == (Decimal("0.0015"), "billed")
    ledger.close()


def test_server_text_in_generation_output_cannot_reach_the_terminal_raw(
        server, streams_for) -> None:
    hostile = generation_data("gen-42")
    hostile["data"]["provider_name"] = "Evil\x1b]0;pwned\x07\nnext line"
    server.json(hostile)
    streams = streams_for()
    run_generation(generation_opts(FakeTime()), streams)
    out = streams.stdout.getvalue().decode()
    assert "\x1b" not in out and "provider:      Evil\\x1b]0;pwned\\x07 next line\n" in out


def test_generation_runs_from_the_command_line(server, isolated_env, tmp_path) -> None:
    server.json(generation_data("gen-1"))
    streams = Streams.for_test(env=isolated_env | {
        "OPENROUTER_API_KEY": API_KEY, "OPENROUTER_BASE_URL": server.base_url,
        "ORCLI_LEDGER": "off"})
    assert main(["generation", "gen-1", "--json"], streams) == 0
    assert json.loads(streams.stdout.getvalue())["id"] == "gen-1"
