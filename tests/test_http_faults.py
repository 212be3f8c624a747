"""A server that lies cannot hang orcli, leak its secrets, or turn a success into a crash.

Loopback servers only; each one stops with its test. Time limits are shown by
which error fires: a dripping server here would finish its answer (exit 0) if
--timeout did not cut it first.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import API_KEY
from tests.fake_openrouter import Drip, Reply, completion, error_body

ANSWER = json.dumps(completion("late")).encode()


def http_response(body: bytes, *headers: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "Content-Type: application/json",
            f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def error_line(stderr: str) -> str:
    return [line for line in stderr.splitlines() if line.startswith("orcli: error:")][-1]


def test_a_status_line_dripped_a_byte_at_a_time_is_cut_by_the_timeout(run, raw_server):
    drip = raw_server(Drip(http_response(ANSWER), every=0.02))  # about 10 s in all
    result = run("chat", "hi", "--timeout", "0.5", base_url=drip.base_url, expect=7)
    assert error_line(result.stderr) == "orcli: error: no answer within 0.5 s (--timeout)"


def test_endless_100_continue_is_no_progress(run, raw_server):
    interim = b"HTTP/1.1 100 Continue\r\n\r\n" * 40 + http_response(ANSWER)
    drip = raw_server(Drip(interim, every=0.005))  # 1,000 bytes of interim answers first
    result = run("chat", "hi", "--timeout", "0.5", base_url=drip.base_url, expect=7)
    assert "within 0.5 s (--timeout)" in error_line(result.stderr)


def test_a_body_of_empty_gzip_blocks_is_cut_by_the_timeout(run, raw_server):
    # A gzip header, then empty stored deflate blocks, which decode to nothing.
    body = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\x00\x00\x00\xff\xff" * 200
    head = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            f"Content-Length: {len(body) + 1000}\r\n\r\n").encode()
    drip = raw_server(Drip(head + body, every=0.005))  # over 5 s in all
    result = run("chat", "hi", "--timeout", "0.5", base_url=drip.base_url, expect=7)
    assert "within 0.5 s (--timeout)" in error_line(result.stderr)


def test_duplicate_content_length_is_the_servers_fault_not_the_key(run, raw_server):
    bad = http_response(ANSWER, "Content-Length: 3")
    server = raw_server(bad)
    result = run("chat", "hi", "--retries", "0", base_url=server.base_url, expect=7)
    assert "API key" not in result.stderr and "headers" in result.stderr


@pytest.mark.parametrize("echo", [
    API_KEY[:20] + "\n" + API_KEY[20:],  # split over two lines
    "".join(f"%{b:02X}" if not chr(b).isalnum() else chr(b) for b in API_KEY.encode()),
])
def test_a_key_echoed_in_any_shape_is_redacted(server, run, echo):
    server.json(error_body(401, f"Invalid API key: {echo}"), status=401)
    result = run("chat", "hi", expect=3)  # run() itself fails on the plain key
    assert API_KEY[20:40] not in result.stderr and "<redacted>" in result.stderr


def test_a_key_echoed_in_base64_is_redacted(server, run):
    import base64

    echoed = base64.b64encode(f"Bearer {API_KEY}".encode()).decode()
    server.json(error_body(401, f"bad header {echoed}"), status=401)
    result = run("chat", "hi", expect=3)
    assert echoed[12:40] not in result.stderr and "<redacted>" in result.stderr


def test_a_password_in_the_base_url_is_never_shown(run, raw_server):
    server = raw_server("reset", "reset", "reset")
    url = server.base_url.replace("http://", "http://alice:s3cr3t-pw@")
    result = run("chat", "hi", "--debug", base_url=url, expect=7)
    assert "s3cr3t-pw" not in result.stderr and "cannot reach" in result.stderr


def test_nan_in_an_answer_is_null_in_json_output(server, run):
    server.reply(Reply(200, {"Content-Type": "application/json"},
                       [ANSWER.replace(b'"created": ', b'"score": NaN, "created": ')]))
    printed = json.loads(run("chat", "--json", "hi").stdout)
    assert printed["score"] is None


@pytest.mark.parametrize("cost", ["1e1000000", "1e-999999999", "-5", "NaN", "x" * 100])
def test_an_absurd_cost_is_unknown_and_the_answer_still_succeeds(server, run, cost):
    answer = completion("fine")
    answer["usage"]["cost"] = cost
    server.json(answer)
    result = run("chat", "--usage", "hi")
    assert result.stdout == "fine\n"
    assert len(result.stderr) < 200


def sse_head() -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


FIRST_EVENT = b"data: " + json.dumps(
    {"id": "gen-1", "choices": [{"index": 0, "delta": {"content": "kept"}}]}).encode() + b"\n\n"


def test_a_chunk_that_claims_a_terabyte_is_read_in_bounded_pieces_and_timed_out(
        run, raw_server):
    # The size line promises 1 TiB, then bytes trickle: orcli must neither try to
    # hold the chunk whole (MemoryError) nor wait for it past --timeout.
    head = sse_head() + chunk(FIRST_EVENT) + b"10000000000\r\n"
    drip = raw_server(Drip(head + b"data: " + b"x" * 400, every=0.005))  # over 2 s in all
    result = run("stream", "hi", "--timeout", "0.5", base_url=drip.base_url, expect=7)
    assert result.stdout == "kept\n"
    assert "within 0.5 s (--timeout)" in error_line(result.stderr)


@pytest.mark.parametrize("size", [b"zz", b"-5"])
def test_a_chunk_size_that_is_not_hex_ends_the_stream_with_one_line(run, raw_server, size):
    server = raw_server(sse_head() + chunk(FIRST_EVENT) + size + b"\r\nhello\r\n")
    result = run("stream", "hi", base_url=server.base_url, expect=7)
    assert result.stdout == "kept\n"
    assert error_line(result.stderr) == (
        "orcli: error: the connection broke during the answer: the server sent a chunk size "
        "that is not a number (broken HTTP framing)")


def test_a_chunk_nested_100k_levels_deep_ends_the_stream_with_one_line(run, raw_server):
    deep = b'data: {"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n\n"
    server = raw_server(sse_head() + chunk(FIRST_EVENT) + chunk(deep) + b"0\r\n\r\n")
    result = run("stream", "hi", base_url=server.base_url, expect=7)
    assert result.stdout == "kept\n"
    assert error_line(result.stderr).startswith("orcli: error: stream sent data that is not JSON")


def test_a_gzip_stream_of_endless_blank_lines_is_cut_by_the_timeout(run, raw_server):
    import gzip
    import time

    # 2 MB on the wire that inflate to 2 GiB of blank lines: no event, and
    # nothing to wait for on the socket, so only the clock can stop the reading.
    member = gzip.compress(b"\n" * (16 << 20), 1)
    head = sse_head().replace(b"\r\n\r\n", b"\r\nContent-Encoding: gzip\r\n\r\n")
    body = chunk(gzip.compress(FIRST_EVENT)) + chunk(member) * 128 + b"0\r\n\r\n"
    server = raw_server(head + body)
    started = time.monotonic()
    result = run("stream", "hi", "--timeout", "0.5", base_url=server.base_url, expect=7)
    assert time.monotonic() - started < 3
    assert result.stdout == "kept\n"
    assert "within 0.5 s (--timeout)" in error_line(result.stderr)


def test_a_compressed_answer_stays_in_bounded_memory_whatever_it_inflates_to(
        raw_server, isolated_env, tmp_path):
    import gzip
    from pathlib import Path

    from tests.test_hostile_input import run_measured

    # 250 KB on the wire, 250 MiB of one JSON string once inflated (gzip members
    # may follow one another): an answer no model gives, held whole to parse.
    answer = json.dumps(completion("x")).encode()
    cut = answer.index(b'"x"') + 2
    body = (gzip.compress(answer[:cut]) + gzip.compress(b"a" * (10 << 20), 1) * 25
            + gzip.compress(answer[cut:]))
    server = raw_server(http_response(body, "Content-Encoding: gzip"))
    (tmp_path / "empty").write_bytes(b"")
    env = isolated_env | {"PYTHONPATH": str(Path(__file__).parent.parent),
                          "OPENROUTER_API_KEY": API_KEY, "OPENROUTER_BASE_URL": server.base_url}
    code, peak_kb, err = run_measured(["chat", "hi"], env, tmp_path / "empty", tmp_path / "out")
    assert code == 7 and "larger than" in error_line(err)
    assert peak_kb < 300 * 1024


def test_a_trailer_section_that_never_ends_is_cut_by_the_timeout(run, raw_server):
    # urllib3 takes the cut socket for the end of the trailers: still a timeout.
    trailers = sse_head() + chunk(FIRST_EVENT) + b"0\r\n" + b"X-Trailer: y\r\n" * 1000
    drip = raw_server(Drip(trailers, every=0.001))  # 14,000 bytes: well over 5 s in all
    result = run("stream", "hi", "--timeout", "0.5", base_url=drip.base_url, expect=7)
    assert result.stdout == "kept\n"
    assert "within 0.5 s (--timeout)" in error_line(result.stderr)
