"""`orcli batch` through its real entry point against the fake OpenRouter."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orcli.commands.batch import BatchOptions, run_batch
from orcli.render.iostreams import Streams
from tests.conftest import API_KEY
from tests.fake_openrouter import (
    ERR_400_MODEL,
    ERR_401_USER,
    ERR_402,
    ERR_429,
    FakeOpenRouter,
    Reply,
    completion,
    tool_call,
    usage,
)

SUMMARY = "orcli: batch: "


def lines(stdout: bytes | str) -> list[dict[str, Any]]:
    data = stdout.encode() if isinstance(stdout, str) else stdout
    assert data.endswith(b"\n") or data == b""
    return [json.loads(line, parse_float=Decimal) for line in data.splitlines()]


def summary(stderr: str) -> str:
    return [line for line in stderr.splitlines() if line.startswith(SUMMARY)][-1]


def prompts(server: FakeOpenRouter) -> list[str]:
    return [r.json()["messages"][-1]["content"] for r in server.requests]


class ByPrompt(FakeOpenRouter):
    """Replies chosen by the request's last message, so concurrent rows get their own."""

    def __init__(self) -> None:
        super().__init__()
        self.by_prompt: dict[str, Reply] = {}
        self.seen = threading.local()
        fake = self

        class Recording(list):
            def append(self, item: Any) -> None:
                fake.seen.body = item.body
                super().append(item)

        self.requests = Recording()

    def answer(self, prompt: str, reply: Reply) -> Reply:
        self.by_prompt[prompt] = reply
        return reply

    def next_reply(self, method: str, path: str) -> Reply | None:
        prompt = json.loads(self.seen.body)["messages"][-1]["content"]
        with self.lock:
            reply = self.by_prompt.pop(prompt, None)
            if reply is None:
                self.unscripted.append(f"{method} {path} {prompt}")
        return reply

    def problems(self) -> list[str]:
        return [f"unused reply for {p!r}" for p in self.by_prompt] + [
            f"unscripted request: {r}" for r in self.unscripted]


def json_reply(obj: Any, status: int = 200, writes_before: list[Any] | None = None,
               headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps(obj).encode()
    return Reply(status, {"Content-Type": "application/json"} | (headers or {}),
                 [*(writes_before or []), body], framing="chunked" if writes_before else "length")


@pytest.fixture
def by_prompt():
    fake = ByPrompt().start()
    yield fake
    fake.stop()
    assert not fake.problems(), fake.problems()


# ---- output lines ------------------------------------------------------------------------


def test_each_row_gets_one_line_with_the_answer_usage_and_ids(server, run):
    server.json(completion("first", use=usage(3, 7, 0.0000152)))
    server.json(completion("second"))
    result = run("batch", "-j", "1", stdin='"one"\n\n{"id": "t-2", "prompt": "two"}\n')
    out = lines(result.stdout_bytes)
    assert out[0] == {"id": "1", "line": 1, "model": "mistralai/devstral-2512", "text": "first",
                      "finish_reason": "stop",
                      "usage": {"prompt_tokens": 3, "completion_tokens": 7,
                                "cost": Decimal("0.0000152")},
                      "generation_id": "gen-1764118800-AbCdEfGhIjKlMnOpQrSt", "error": None}
    assert (out[1]["id"], out[1]["line"], out[1]["text"]) == ("t-2", 3, "second")
    assert prompts(server) == ["one", "two"]
    # Not a terminal: no progress bar, only the summary line.
    assert result.stderr == ("orcli: batch: 2 ok, 0 failed, 0 skipped, 0 unsent; "
                             "6 in, 14 out tokens, $0.0000304\n")


def test_tool_call_answer_carries_tool_calls_as_chat_prints_them(server, run):
    server.json(completion(None, finish_reason="tool_calls",
                           tool_calls=[tool_call("lookup", '{"q": "x"}')]))
    out = lines(run("batch", stdin='"find x"\n').stdout_bytes)
    assert out[0]["tool_calls"] == [{"id": "call_abc123", "name": "lookup",
                                     "arguments": {"q": "x"}}]


def test_failed_row_has_exit_code_status_and_message_and_the_run_exits_9(server, run):
    server.json(completion("ok"))
    server.json(ERR_400_MODEL, status=400)
    result = run("batch", "-j", "1", stdin='"a"\n"b"\n', expect=9)
    failed = lines(result.stdout_bytes)[1]
    assert failed == {"id": "2", "line": 2, "error": {
        "exit_code": 4, "http_status": 400,
        "message": "HTTP 400: nosuch/model is not a valid model ID"}}
    assert summary(result.stderr).startswith("orcli: batch: 1 ok, 1 failed, 0 skipped, 0 unsent")


def test_a_row_longer_than_its_models_context_fails_unsent_with_exit_code_8(
        server, run, isolated_env):
    from tests.test_guards import cache_models
    from tests.test_price import catalog_model

    cache_models(isolated_env, server.base_url,
                 [catalog_model("vendor/small", "0.000001", "0.000002", context=50)])
    server.json(completion("ok"))
    rows = '"short"\n' + json.dumps({"prompt": "word " * 500, "model": "vendor/small"}) + "\n"
    result = run("batch", "-j", "1", "-m", "vendor/small", stdin=rows, expect=9)
    refused = lines(result.stdout_bytes)[1]
    assert (refused["id"], refused["error"]["exit_code"], refused["error"]["http_status"]) == \
        ("2", 8, None)
    assert "over vendor/small's context of 50; nothing was sent" in refused["error"]["message"]
    assert len(server.requests) == 1


def test_a_summary_of_rows_whose_cost_nobody_knows_never_says_zero(server, run):
    # A server that sends no usage.cost, for a model whose prices orcli does not know.
    unpriced = {"prompt_tokens": 2, "completion_tokens": 3}
    for _ in range(2):
        server.json(completion("ok", model="vendor/unpriced", use=unpriced))
    result = run("batch", "-j", "1", "-m", "vendor/unpriced", stdin='"a"\n"b"\n')
    assert summary(result.stderr).endswith("; 4 in, 6 out tokens, cost unknown")
    server.json(completion("ok"))  # billed: usage.cost
    server.json(completion("ok", model="vendor/unpriced", use=unpriced))
    result = run("batch", "-j", "1", stdin='"a"\n' + json.dumps(
        {"prompt": "b", "model": "vendor/unpriced"}) + "\n")
    assert summary(result.stderr).endswith(", $0.0000152 + 1 of unknown cost")


def test_429_after_the_retries_is_a_failed_row_with_exit_code_6(server, run):
    server.json(ERR_429, status=429, headers={"Retry-After": "0"})
    out = lines(run("batch", "--retries", "0", stdin='"a"\n', expect=9).stdout_bytes)
    assert out[0]["error"]["exit_code"] == 6 and out[0]["error"]["http_status"] == 429


def test_flags_are_defaults_and_row_fields_win(server, run):
    server.json(completion("x"))
    server.json(completion("y"))
    run("batch", "-j", "1", "-m", "a/model", "-t", "0.2", "--option", "top_k=40", "-s", "sys",
        stdin='"p1"\n{"prompt": "p2", "model": "b/model", "top_k": 5}\n')
    first, second = (r.json() for r in server.requests)
    assert first == {"model": "a/model", "temperature": 0.2, "top_k": 40, "messages": [
        {"role": "system", "content": "sys"}, {"role": "user", "content": "p1"}]}
    assert (second["model"], second["top_k"], second["temperature"]) == ("b/model", 5, 0.2)


def test_unordered_lines_come_as_rows_finish_and_ordered_in_input_order(by_prompt, run):
    rows = "".join(f'{{"id": "{p}", "prompt": "{p}"}}\n' for p in "abc")
    for flags, first in (((), ["b"]), (("--ordered",), ["a", "b", "c"])):
        by_prompt.answer("b", json_reply(completion("B")))
        # c starts only once a or b is done; a answers only after c: so b finishes first.
        third = by_prompt.answer("c", json_reply(completion("C")))
        by_prompt.answer("a", json_reply(completion("A"), writes_before=[third.sent]))
        result = run("batch", "-j", "2", *flags, stdin=rows, base_url=by_prompt.base_url)
        ids = [row["id"] for row in lines(result.stdout_bytes)]
        assert ids[:len(first)] == first and sorted(ids) == ["a", "b", "c"]


# ---- refused before anything is sent ------------------------------------------------------


@pytest.mark.parametrize("stdin, message", [
    ('"ok"\n{"prompt": \n', "line 2: not valid JSON"),
    ('"ok"\n\n[1]\n', "line 3: expected a JSON string or object"),
    ('{"id": "x", "prompt": "a"}\n{"id": "x", "prompt": "b"}\n',
     "line 2: id 'x' is repeated (first on line 1)"),
    ('"1"\n{"id": "1", "prompt": "b"}\n', "line 2: id '1' is repeated"),
])
def test_bad_line_or_repeated_id_exits_2_and_sends_nothing(server, run, stdin, message):
    result = run("batch", stdin=stdin, expect=2)
    assert message in result.stderr
    assert result.stdout == "" and server.requests == []


def test_budget_needs_max_tokens_in_every_row(server, run):
    result = run("batch", "--max-cost", "1", stdin='{"prompt": "a", "max_tokens": 5}\n"b"\n',
                 expect=2)
    assert "line 2 has none" in result.stderr and server.requests == []


def test_no_key_for_openrouter_exits_3_and_counts_every_row_unsent(run):
    result = run("batch", stdin='"a"\n"b"\n', key=False, expect=3,
                 base_url="https://openrouter.ai/api/v1")
    assert "no API key" in result.stderr
    assert summary(result.stderr).startswith("orcli: batch: 0 ok, 0 failed, 0 skipped, 2 unsent")


@pytest.mark.parametrize("status, body, code", [(401, ERR_401_USER, 3), (402, ERR_402, 5)])
def test_401_or_402_stops_the_run_with_its_code(server, run, status, body, code):
    server.json(completion("ok"))
    server.json(body, status=status)
    result = run("batch", "-j", "1", stdin='"a"\n"b"\n"c"\n"d"\n', expect=code)
    assert prompts(server) == ["a", "b"]
    assert lines(result.stdout_bytes)[1]["error"]["exit_code"] == code
    assert summary(result.stderr).startswith("orcli: batch: 1 ok, 1 failed, 0 skipped, 2 unsent")


# ---- resume --------------------------------------------------------------------------------


def test_rerun_with_output_file_sends_only_rows_not_yet_done(server, run, tmp_path: Path):
    out = tmp_path / "out.jsonl"
    rows = '"a"\n"b"\n"c"\n'
    server.json(completion("A"))
    server.json(ERR_400_MODEL, status=400)
    server.json(completion("C"))
    run("batch", "-j", "1", "-o", str(out), stdin=rows, expect=9)
    server.json(completion("B"))
    result = run("batch", "-o", str(out), stdin=rows)
    assert prompts(server) == ["a", "b", "c", "b"]
    assert result.stdout == ""
    assert summary(result.stderr).startswith("orcli: batch: 1 ok, 0 failed, 2 skipped, 0 unsent")
    done = [(r["id"], r["error"] is None) for r in lines(out.read_bytes())]
    assert done == [("1", True), ("2", False), ("3", True), ("2", True)]


def test_torn_last_line_is_dropped_before_resuming(server, run, tmp_path: Path):
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"id": "1", "line": 1, "error": null}\n{"id": "2", "line": 2, "te')
    server.json(completion("B"))
    run("batch", "-o", str(out), stdin='"a"\n"b"\n')
    assert prompts(server) == ["b"]
    assert [r["id"] for r in lines(out.read_bytes())] == ["1", "2"]


def test_sigint_keeps_lines_whole_exits_130_and_the_same_command_resumes(
        by_prompt, isolated_env, tmp_path: Path):
    out, rows = tmp_path / "out.jsonl", tmp_path / "rows.jsonl"
    rows.write_text('"fast"\n"slow"\n')
    gate = threading.Event()
    by_prompt.answer("fast", json_reply(completion("F")))
    by_prompt.answer("slow", json_reply(completion("never"), writes_before=[gate]))
    env = isolated_env | {"OPENROUTER_API_KEY": API_KEY, "OPENROUTER_BASE_URL": by_prompt.base_url}
    args = ["batch", "-j", "2", str(rows), "-o", str(out)]
    launch = ("import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
              "from orcli.__main__ import entry; entry()")
    proc = subprocess.Popen([sys.executable, "-c", launch, *args], env=env,
                            stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        pause = threading.Event()  # never set: a bounded wait between looks at the file
        for _ in range(1000):
            if out.exists() and out.read_bytes().endswith(b"\n"):
                break
            pause.wait(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        gate.set()
    assert proc.returncode == 130 and b"Traceback" not in err
    assert [r["id"] for r in lines(out.read_bytes())] == ["1"]
    by_prompt.answer("slow", json_reply(completion("S")))
    again = subprocess.run([sys.executable, "-m", "orcli", *args], env=env, capture_output=True,
                           timeout=30)
    assert again.returncode == 0, again.stderr
    assert [r["text"] for r in lines(out.read_bytes())] == ["F", "S"]


# ---- budget, shard, dry run ------------------------------------------------------------------


def test_budget_counts_billed_and_in_flight_and_leaves_the_rest_unsent(server, run):
    # Worst case per row is about $0.000028 (19-token bound in, 10 out); each bills $0.00002.
    for _ in range(2):
        server.json(completion("ok", use=usage(3, 7, 0.00002)))
    result = run("batch", "-j", "3", "--max-tokens", "10", "--max-cost", "0.00005",
                 stdin='"a"\n"b"\n"c"\n', expect=8)
    assert len(server.requests) == 2
    assert summary(result.stderr) == ("orcli: batch: 2 ok, 0 failed, 0 skipped, 1 unsent; "
                                      "6 in, 14 out tokens, $0.00004")


def test_shard_sends_only_its_lines(server, run):
    server.json(completion("x"))
    server.json(completion("y"))
    out = lines(run("batch", "-j", "1", "--shard", "2/2", stdin='"a"\n"b"\n"c"\n"d"\n')
                .stdout_bytes)
    assert prompts(server) == ["b", "d"] and [r["line"] for r in out] == [2, 4]


def test_dry_run_prints_bodies_and_the_worst_case_without_a_key(run):
    result = run("batch", "--dry-run", "--max-tokens", "10", key=False,
                 base_url="https://openrouter.ai/api/v1", stdin='"a"\n"b"\n')
    assert [b["messages"][0]["content"] for b in lines(result.stdout_bytes)] == ["a", "b"]
    # Each row: 4 tokens in (exact Tekken count) at $0.40/M + 10 out at $2/M = $0.0000216.
    assert result.stderr == "orcli: batch: dry run: 2 rows, 0 skipped; worst case $0.0000432\n"
    unbounded = run("batch", "--dry-run", stdin='{"prompt": "a", "max_tokens": 5}\n"b"\n',
                    key=False, base_url="https://openrouter.ai/api/v1")
    assert "worst case unbounded" in unbounded.stderr


def test_progress_bar_on_a_terminal_still_ends_with_the_summary(server, run):
    server.json(completion("x"))
    result = run("batch", stdin='"a"\n', tty=True)
    assert lines(result.stdout_bytes)[0]["text"] == "x"
    assert "0/1" in result.stderr  # the bar was drawn, then erased before the summary
    assert result.stderr.endswith("\x1b[2Korcli: batch: 1 ok, 0 failed, 0 skipped, 0 unsent; "
                                  "3 in, 7 out tokens, $0.0000152\n")


def test_ledger_hook_gets_every_finished_row_with_batch_and_row_ids(server, isolated_env):
    server.json(completion("x"))
    server.json(ERR_400_MODEL, status=400)
    streams = Streams.for_test(stdin=b'{"id": "r1", "prompt": "a"}\n"b"\n', env=isolated_env | {
        "OPENROUTER_BASE_URL": server.base_url, "OPENROUTER_API_KEY": API_KEY})
    seen = []
    code = run_batch(BatchOptions(concurrency=1), streams, on_row=seen.append)
    assert code == 9
    assert [(o.row_id, o.result is not None, o.error is not None) for o in seen] == [
        ("r1", True, False), ("2", False, True)]
    assert len({o.batch_id for o in seen}) == 1 and seen[0].result.text == "x"
    assert seen[1].model_asked == "mistralai/devstral-2512"


def test_client_reports_each_transient_failure_so_batch_can_slow_down(server, isolated_env):
    from orcli.http.client import Client
    from orcli.http.retry import Backoff
    from orcli.store.config import load_settings

    server.json(ERR_429, status=429, headers={"Retry-After": "0"})
    server.json(completion("ok"))
    settings = load_settings({"base_url": server.base_url},
                             isolated_env | {"OPENROUTER_API_KEY": API_KEY}, lambda _: None)
    seen = []
    client = Client(settings, on_retryable=seen.append, backoff=Backoff(sleep=lambda _: None))
    client.chat({"model": "m", "messages": []})
    assert [(f.error.status, f.wait) for f in seen] == [(6, 0.0)]


def test_piped_run_never_loads_rich(server, isolated_env, tmp_path: Path):
    from tests.test_imports import probe

    server.json(completion("x"))
    env = isolated_env | {"OPENROUTER_API_KEY": API_KEY, "OPENROUTER_BASE_URL": server.base_url,
                          "PYTHONDONTWRITEBYTECODE": "1"}
    report = probe(["batch"], env, tmp_path, stdin=b'"a"\n')
    assert report["code"] == 0 and "rich" not in report["loaded"]


def test_worker_reports_of_429_or_retry_after_pause_and_halve_the_run(isolated_env):
    from orcli.commands.batch import Run
    from orcli.commands.batch_plan import make_plan
    from orcli.errors import ExitStatus

    streams = Streams.for_test(stdin=b"".join(b'"p%d"\n' % i for i in range(8)), env=isolated_env)
    from orcli.commands.ledgering import CallLog

    opts = BatchOptions(concurrency=8)
    plan = make_plan(opts, streams)
    batch = Run(plan, opts, streams, None, CallLog.open(plan.settings, streams, "batch"))
    batch.handle(("slow", ExitStatus.UPSTREAM, None, 0))  # a 502 with no advice: no change
    assert batch.limit.limit == 8 and batch.limit.pause_left() == 0
    batch.handle(("slow", ExitStatus.RATE_LIMITED, None, 0))  # a 429 without Retry-After
    assert batch.limit.limit == 4 and 0 < batch.limit.pause_left() <= 1
    batch.handle(("slow", ExitStatus.UPSTREAM, 3600.0, 1))  # a 503 asking for an hour
    assert batch.limit.limit == 2 and 1 < batch.limit.pause_left() <= 60


def test_every_answered_row_is_in_the_ledger_with_batch_and_row_ids(server, run):
    server.json(completion("x"))
    server.json(ERR_400_MODEL, status=400)
    run("batch", "-j", "1", "--tag", "job=labels", stdin='{"id": "r1", "prompt": "a"}\n"b"\n',
        expect=9)
    records = lines(run("spend", "--export").stdout_bytes)
    assert [(r["command"], r["row_id"], r["exit_code"], r["tags"]) for r in records] == [
        ("batch", "r1", 0, {"job": "labels"}), ("batch", "2", 4, {"job": "labels"})]
    assert records[0]["batch_id"] == records[1]["batch_id"] and records[0]["batch_id"]
    assert records[0]["cost"] == Decimal("0.0000152")


def test_a_daily_budget_stops_rows_that_would_pass_it(server, run, tmp_path: Path):
    ledger = {"ORCLI_LEDGER": str(tmp_path / "ledger.db")}
    answer = completion("spent")
    answer["usage"]["cost"] = 1
    server.json(answer)
    run("chat", "hi", env=ledger)
    server.json(completion("row"))
    # $0.00006 left; a row's worst case is over $0.00005 (25 out at $2/M alone), and the
    # first row's bill ($0.0000152) leaves too little for a second.
    rows = "".join(f'"row {i}"\n' for i in range(4))
    result = run("batch", "--max-tokens", "25", "-j", "1", stdin=rows,
                 env=ledger | {"ORCLI_BUDGET_DAILY": "1.00006"}, expect=8)
    assert result.stdout.count('"error": null') == 1
    assert "unsent" in result.stderr and len(server.requests) == 2
