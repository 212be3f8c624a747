"""`orcli stream` against the fake OpenRouter: text as it arrives, and every way a stream ends."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
from decimal import Decimal
from typing import Any

import pytest

from orcli.__main__ import main
from orcli.render.iostreams import Streams
from tests.conftest import API_KEY
from tests.fake_openrouter import (
    DONE,
    ERR_400_MODEL,
    ERR_401_USER,
    ERR_402,
    ERR_403_MODERATION,
    ERR_429,
    ERR_502_PROVIDER,
    PROCESSING,
    chunk,
    data,
    ignore_client_resets,
    stream_of,
    usage_chunk,
)

# Multi-byte characters of every length, and U+2028 / U+0085, which str.splitlines()
# would take for line ends if a reader ever split decoded text.
PIECES = ["Grüße, ", "世界", "! 🎉 one\u2028two", "\u0085three ", "done."]
ANSWER = "".join(PIECES)
PAUSE = 0.002  # between writes, so the client reads the pieces one by one
GEN_ID = "gen-1764118800-AbCdEfGhIjKlMnOpQrSt"


class Gate(threading.Event):
    """An Event the fake server waits on, remembering whether that wait ran out."""

    def __init__(self) -> None:
        super().__init__()
        self.timed_out = False

    def wait(self, timeout: float | None = None) -> bool:
        opened = super().wait(timeout)
        self.timed_out = self.timed_out or not opened
        return opened


class GateOpeningStdout(io.BytesIO):
    """Stdout that opens the gate at its first flush, noting what had arrived by then."""

    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate
        self.at_first_flush: bytes | None = None

    def flush(self) -> None:
        super().flush()
        if self.at_first_flush is None and self.getvalue():
            self.at_first_flush = self.getvalue()
            self.gate.set()


@pytest.fixture(autouse=True)
def quiet_server(server) -> None:
    # orcli stops reading at [DONE] and closes the connection (or is killed): the
    # resulting resets are expected, and socketserver would print them as tracebacks.
    ignore_client_resets(server)


@pytest.fixture
def env(isolated_env: dict[str, str], server) -> dict[str, str]:
    """The environment for a run against the fake server, in process or as a subprocess."""
    return isolated_env | {"OPENROUTER_API_KEY": API_KEY, "OPENROUTER_BASE_URL": server.base_url}


def paced(writes: list[bytes]) -> list[Any]:
    """The writes with a short pause after each, so the client sees them as separate reads."""
    out: list[Any] = []
    for piece in writes:
        out += [piece, PAUSE]
    return out


def split_at(blob: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(set(cuts)), len(blob)]
    return [blob[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def jsonl_events(stdout: bytes) -> list[dict[str, Any]]:
    """Every stdout line as JSON; split on b"\\n" only, as a JSON Lines reader does."""
    assert stdout.endswith(b"\n")
    return [json.loads(line, parse_float=Decimal) for line in stdout[:-1].split(b"\n")]


# A test run started in the background (`pytest &`, some CI runners) passes SIGINT
# on as ignored, and Python then installs no KeyboardInterrupt handler; this
# start-up line puts it back, so the SIGINT test sees what a terminal user gets.
WITH_SIGINT = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
               "from orcli.__main__ import entry; entry()")


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """orcli as a real process with pipes for stdout and stderr."""
    return subprocess.Popen([sys.executable, "-c", WITH_SIGINT, *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


# ---- exact text, however the bytes are split ----------------------------------------------


@pytest.mark.parametrize("framing", ["chunked", "close"])
@pytest.mark.parametrize("usage_shape", ["empty-choices", "empty-delta"])
@pytest.mark.parametrize("seed", range(4))
def test_random_splits_give_the_exact_text(server, run, framing, usage_shape, seed):
    blob = b"".join(stream_of(PIECES, usage_shape=usage_shape))
    rng = random.Random(seed)
    cuts = rng.sample(range(1, len(blob)), 15)
    server.sse(paced(split_at(blob, cuts)), framing=framing)
    result = run("stream", "hi")
    assert result.stdout_bytes == (ANSWER + "\n").encode()
    assert result.stderr == ""


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_splits_inside_a_character_a_data_line_and_a_comment(server, run, framing):
    writes = stream_of(PIECES)
    writes.insert(3, PROCESSING)  # one more keep-alive between chunks
    blob = b"".join(writes)
    emoji = blob.index("🎉".encode())
    cuts = [
        blob.index(b"OPENROUTER") + 3,          # inside a comment line
        blob.index("世".encode()) + 1,          # inside a 3-byte character
        emoji + 1, emoji + 2, emoji + 3,        # through a 4-byte character
        blob.index(b"data: ", emoji) + 3,       # inside "data:"
        blob.index(b"\n\n", emoji) + 1,         # between an event's two newlines
        blob.index(b"[DONE]") + 2,              # inside [DONE]
    ]
    server.sse(paced(split_at(blob, cuts)), framing=framing)
    assert run("stream", "hi").stdout_bytes == (ANSWER + "\n").encode()


def test_request_body_asks_for_a_stream(server, run):
    server.sse(stream_of(["ok"]))
    run("stream", "hi")
    body = server.requests[0].json()
    assert body["stream"] is True
    assert body["messages"] == [{"role": "user", "content": "hi"}]


def test_answer_ending_in_newline_gets_no_second_one(server, run):
    server.sse(stream_of(["line one\n", "line two\n"]))
    assert run("stream", "hi").stdout == "line one\nline two\n"


def test_empty_answer_prints_nothing_and_warns(server, run):
    server.sse(stream_of([], finish="length"))
    result = run("stream", "hi")
    assert result.stdout == ""
    assert result.stderr == "orcli: warning: empty answer (finish_reason: length)\n"


def test_usage_line_on_stderr_with_the_streams_cost(server, run):
    server.sse(stream_of(["hi there"]))
    result = run("stream", "hi", "--usage")
    assert result.stdout == "hi there\n"
    assert result.stderr == "orcli: mistralai/devstral-2512: 3 in, 7 out tokens, $0.0000152\n"


# ---- incremental delivery ------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_first_piece_reaches_stdout_while_the_server_holds_the_rest(env, server, framing):
    gate = Gate()
    server.sse([PROCESSING, data(chunk("first ")), gate, data(chunk("last")),
                data(chunk("", finish_reason="stop")), DONE], framing=framing)
    streams = Streams.for_test(stdin=b"", env=env)
    stdout = streams.stdout = GateOpeningStdout(gate)
    assert main(["stream", "hi"], streams) == 0
    assert not gate.timed_out, "orcli held the first piece until the server sent the rest"
    assert stdout.at_first_flush == b"first "
    assert stdout.getvalue() == b"first last\n"


def test_first_piece_reaches_a_real_pipe_before_the_rest_is_sent(env, server):
    gate = Gate()
    server.sse([PROCESSING, data(chunk("first ")), gate, data(chunk("last")), DONE])
    proc = start(["stream", "hi"], env)
    try:
        first = os.read(proc.stdout.fileno(), 100)  # blocks until orcli writes something
    finally:
        gate.set()
    out, err = proc.communicate(timeout=20)
    assert not gate.timed_out
    assert first == b"first "
    assert first + out == b"first last\n"
    assert proc.returncode == 0 and err == b""


# ---- what else a stream carries -------------------------------------------------------------


def tool_fragment(index: int, arguments: str, call_id: str | None = None,
                  name: str | None = None) -> dict[str, Any]:
    fragment: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id:
        fragment |= {"id": call_id, "type": "function"}
        fragment["function"]["name"] = name
    return fragment


TOOL_STREAM = [
    PROCESSING, data(chunk(role=True, tool_calls=[tool_fragment(0, "", "call_1", "weather")])),
    data(chunk(tool_calls=[tool_fragment(0, '{"city": ')])),
    data(chunk(tool_calls=[tool_fragment(0, '"Paris"}')])),
    data(chunk(tool_calls=[tool_fragment(1, "", "call_2", "now")])),
    data(chunk(finish_reason="tool_calls")), data(usage_chunk()), DONE,
]
TOOL_CALLS = [{"id": "call_1", "name": "weather", "arguments": {"city": "Paris"}},
              {"id": "call_2", "name": "now", "arguments": {}}]


def test_tool_calls_are_printed_as_json_at_the_end(server, run):
    server.sse(TOOL_STREAM)
    result = run("stream", "weather?")
    assert json.loads(result.stdout) == TOOL_CALLS
    assert result.stdout.endswith("]\n") and result.stdout.count("\n") == 1
    assert result.stderr == ""


REASONING_STREAM = [
    PROCESSING, data(chunk(reasoning="Let me ", role=True)), data(chunk(reasoning="think.")),
    data(chunk("The answer")), data(chunk(" is 4.", finish_reason="stop")),
    data(usage_chunk()), DONE,
]


def test_reasoning_never_reaches_stdout(server, run):
    server.sse(REASONING_STREAM)
    result = run("stream", "2+2?")
    assert result.stdout == "The answer is 4.\n"
    assert result.stderr == ""


def test_show_reasoning_writes_it_to_stderr_on_its_own_line(server, run):
    server.sse(REASONING_STREAM)
    result = run("stream", "2+2?", "--show-reasoning")
    assert result.stdout == "The answer is 4.\n"
    assert result.stderr == "Let me think.\n"


# ---- how a stream can fail -------------------------------------------------------------------

ERROR_TOP_LEVEL = {"id": GEN_ID, "object": "chat.completion.chunk", "choices": [],
                   **ERR_502_PROVIDER}
ERROR_IN_CHOICE = {
    "id": GEN_ID, "object": "chat.completion.chunk",
    "error": {"code": "server_error", "message": "Provider disconnected unexpectedly",
              "metadata": {"raw": "upstream reset"}},
    "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
}


@pytest.mark.parametrize("error_chunk,words", [
    (ERROR_TOP_LEVEL, ["Provider returned error", "upstream overloaded", "Mistral"]),
    (ERROR_IN_CHOICE, ["Provider disconnected unexpectedly", "upstream reset"]),
])
def test_mid_stream_error_keeps_the_text_and_exits_7(server, run, error_chunk, words):
    server.sse([PROCESSING, data(chunk("partial", role=True)), PROCESSING, data(error_chunk)])
    result = run("stream", "hi", expect=7)
    assert result.stdout == "partial\n"
    assert result.stderr.startswith("orcli: error: ")
    assert len(result.stderr.splitlines()) == 1
    for word in words:
        assert word in result.stderr


def test_finish_reason_error_without_an_error_object_exits_7(server, run):
    server.sse([data(chunk("partial")), data(chunk(finish_reason="error")), DONE])
    result = run("stream", "hi", expect=7)
    assert result.stdout == "partial\n"
    assert 'finish_reason "error"' in result.stderr


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_cut_stream_keeps_the_text_and_exits_7(server, run, framing):
    server.sse([PROCESSING, data(chunk("partial")), data(chunk(" more"))],
               framing=framing, cut=True)
    result = run("stream", "hi", expect=7)
    assert result.stdout == "partial more\n"
    assert result.stderr.startswith("orcli: error: ")


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_clean_end_after_the_finish_reason_without_done_is_complete(server, run, framing):
    writes = stream_of(["all", " of it"])
    server.sse(writes[:-1], framing=framing)  # everything but [DONE]
    result = run("stream", "hi")
    assert result.stdout == "all of it\n"


@pytest.mark.parametrize("status,body,code", [
    (400, ERR_400_MODEL, 4), (401, ERR_401_USER, 3), (402, ERR_402, 5),
    (403, ERR_403_MODERATION, 4), (429, ERR_429, 6), (502, ERR_502_PROVIDER, 7),
])
def test_http_errors_before_the_stream_exit_as_chat_does(server, run, status, body, code):
    server.json(body, status=status)
    result = run("stream", "hi", "--retries", "0", expect=code)
    assert result.stdout == ""
    assert result.stderr.startswith(f"orcli: error: HTTP {status}")


# ---- Ctrl-C and a closed pipe, in a real process ---------------------------------------------


def test_sigint_mid_stream_keeps_the_text_and_exits_130(env, server):
    gate = Gate()
    server.sse([PROCESSING, data(chunk("partial")), gate, data(chunk(" never")), DONE])
    proc = start(["stream", "hi"], env)
    try:
        first = os.read(proc.stdout.fileno(), 100)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        gate.set()
    assert proc.returncode == 130
    assert first + out == b"partial\n"
    assert b"Traceback" not in err and b"never" not in out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_or_sighup_mid_stream_ends_the_line_and_exits_128_plus_n(env, server, sig):
    gate = Gate()
    server.sse([PROCESSING, data(chunk("partial")), gate, data(chunk(" never")), DONE])
    proc = start(["stream", "hi"], env)
    try:
        first = os.read(proc.stdout.fileno(), 100)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        gate.set()
    assert proc.returncode == 128 + sig
    assert first + out == b"partial\n"
    assert f"stopped by {sig.name}".encode() in err and b"Traceback" not in err


def test_reader_closing_the_pipe_ends_quietly(env, server):
    gate = Gate()
    tail = [data(chunk("y" * 1000)) for _ in range(100)]  # more than a pipe buffer holds
    server.sse([data(chunk("x" * 100)), gate, *tail, DONE])
    proc = start(["stream", "hi"], env)
    head = subprocess.Popen(["head", "-c", "10"], stdin=proc.stdout, stdout=subprocess.PIPE)
    proc.stdout.close()  # head holds the only reading end now
    try:
        head_out, _ = head.communicate(timeout=20)
    finally:
        gate.set()  # only now does the server send more, into a pipe nobody reads
    err = proc.stderr.read()
    assert proc.wait(timeout=20) == 0
    assert head_out == b"x" * 10
    assert err == b""


def test_a_stream_cut_by_a_closed_pipe_is_still_in_the_ledger(env, server, tmp_path):
    from orcli.store.ledger import Ledger

    ledger = tmp_path / "ledger.db"
    gate = Gate()
    tail = [data(chunk("y" * 1000)) for _ in range(100)]  # more than a pipe buffer holds
    server.sse([data(chunk("x" * 100)), gate, *tail, DONE])
    proc = start(["stream", "hi"], env | {"ORCLI_LEDGER": str(ledger)})
    head = subprocess.Popen(["head", "-c", "10"], stdin=proc.stdout, stdout=subprocess.PIPE)
    proc.stdout.close()
    try:
        head.communicate(timeout=20)
    finally:
        gate.set()
    assert proc.wait(timeout=20) == 0
    (record,) = Ledger(ledger, lambda _: None).iter_records()
    assert record.generation_id.startswith("gen-") and record.cost_source == "estimated"


# ---- --jsonl -----------------------------------------------------------------------------------


def test_jsonl_events_carry_the_answer_usage_and_finish(server, run):
    server.sse(stream_of(PIECES, usage_shape="empty-delta"))
    result = run("stream", "hi", "--jsonl")
    events = jsonl_events(result.stdout_bytes)
    assert "".join(e["text"] for e in events if e["type"] == "content") == ANSWER
    assert events[-2] == {"type": "usage", "prompt_tokens": 3, "completion_tokens": 7,
                          "cost": Decimal("0.0000152")}
    assert events[-1] == {"type": "done", "finish_reason": "stop", "id": GEN_ID,
                          "model": "mistralai/devstral-2512"}
    assert {e["type"] for e in events} == {"content", "usage", "done"}
    assert result.stderr == ""


def test_jsonl_tool_calls_and_reasoning_are_events(server, run):
    server.sse(REASONING_STREAM[:-3] + TOOL_STREAM[1:])
    events = jsonl_events(run("stream", "hi", "--jsonl").stdout_bytes)
    assert [e["text"] for e in events if e["type"] == "reasoning"] == ["Let me ", "think."]
    calls = [e for e in events if e["type"] == "tool_call"]
    assert calls == [{"type": "tool_call", **call} for call in TOOL_CALLS]
    assert events[-1]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("error_code,expected", [(502, 502), ("502", 502),
                                                 ("server_error", "server_error"), (None, None)])
def test_jsonl_mid_stream_error_is_an_event(server, run, error_code, expected):
    error = {"error": {"code": error_code, "message": "Provider returned error"}, "choices": []}
    server.sse([data(chunk("partial")), data(error)])
    result = run("stream", "hi", "--jsonl", expect=7)
    events = jsonl_events(result.stdout_bytes)
    assert events[0] == {"type": "content", "text": "partial"}
    assert events[-1]["type"] == "error" and events[-1]["code"] == expected
    assert "Provider returned error" in events[-1]["message"]
    assert result.stderr.startswith("orcli: error: ")


def test_jsonl_error_before_the_stream_is_an_event(server, run):
    server.json(ERR_402, status=402)
    result = run("stream", "hi", "--jsonl", "--retries", "0", expect=5)
    [event] = jsonl_events(result.stdout_bytes)
    assert event["type"] == "error" and event["code"] == 402
    assert "more credits" in event["message"]


@pytest.mark.parametrize("status,error,expected", [
    (200, {"code": 403, "message": "denied by provider"}, 403),
    (200, {"code": "403", "message": "denied by provider"}, 403),
    (200, {"code": "moderation", "message": "denied by provider"}, "moderation"),
    (200, {"message": "denied by provider"}, None),
    (400, {"code": "invalid_request", "message": "denied by provider"}, 400),
    (403, {"code": 403, "message": "denied by provider"}, 403),
])
def test_jsonl_error_code_is_the_error_objects_own(server, run, status, error, expected):
    # A stream answered by one JSON error: the body's code, not the status line's 200.
    server.json({"error": error}, status=status)
    result = run("stream", "hi", "--jsonl", expect=7 if status == 200 else 4)
    [event] = jsonl_events(result.stdout_bytes)
    assert event["type"] == "error" and event["code"] == expected
    assert "denied by provider" in event["message"]


def test_jsonl_error_code_of_a_400_carrying_a_502_is_502(server, run):
    server.json({"error": {"code": 502, "message": "Provider returned error"}}, status=400)
    result = run("stream", "hi", "--jsonl", "--retries", "0", expect=7)
    assert jsonl_events(result.stdout_bytes)[-1]["code"] == 502


def test_jsonl_cut_stream_is_an_error_event_with_no_code(server, run):
    server.sse([data(chunk("partial"))], framing="close")
    events = jsonl_events(run("stream", "hi", "--jsonl", expect=7).stdout_bytes)
    assert events[-1] == {"type": "error", "code": None,
                          "message": "stream ended before [DONE]: the answer may be incomplete"}
