"""Fault injection: every way the far side can fail, its exit code, its one line, its retries.

Each retry test counts the requests the server received. Backoff is replaced by
one that records its waits instead of sleeping, so the schedule is checked
without the suite waiting for it.
"""

from __future__ import annotations

import calendar
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate

import pytest

from orcli.http.client import Client
from orcli.http.retry import Backoff, describe_wait, error_code, parse_reset, parse_retry_after
from orcli.response.events import Content
from orcli.store.config import resolve_settings
from tests.conftest import API_KEY
from tests.fake_openrouter import (
    DONE,
    ERR_200,
    ERR_429,
    ERR_502_PROVIDER,
    PROCESSING,
    Reply,
    chunk,
    completion,
    data,
    error_body,
    ignore_client_resets,
    stream_of,
    usage_chunk,
)


@pytest.fixture
def waits() -> list[float]:
    """The waits between attempts, recorded instead of slept."""
    return []


@pytest.fixture(autouse=True)
def backoff(waits: list[float]) -> Backoff:
    """The App's backoff for every run here (conftest's `run` hands it over): jitter at its top."""
    return Backoff(sleep=waits.append, jitter=lambda: 1.0)


@pytest.fixture(autouse=True)
def quiet_resets(request: pytest.FixtureRequest) -> None:
    # Many tests here leave a reply unread on purpose; the server need not print about it.
    if "server" in request.fixturenames:
        ignore_client_resets(request.getfixturevalue("server"))


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v1"


def retry_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "retrying in" in line]


def error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("orcli: error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


# ---- retried statuses ------------------------------------------------------------

def test_503_503_200_succeeds_on_the_third_request(server, run, waits):
    server.json(error_body(503, "Service Unavailable"), status=503)
    server.json(error_body(503, "Service Unavailable"), status=503)
    server.json(completion("third time lucky"))
    result = run("chat", "hi")
    assert len(server.requests) == 3 and result.stdout == "third time lucky\n"
    assert waits == [1.0, 2.0]  # exponential: base 1 s, then 2 s (jitter at its top)
    assert retry_lines(result.stderr) == [
        "orcli: HTTP 503: Service Unavailable; retrying in 1.0 s (attempt 2 of 3)",
        "orcli: HTTP 503: Service Unavailable; retrying in 2.0 s (attempt 3 of 3)"]


def test_503_every_time_exits_7_after_retries_plus_one_requests(server, run):
    for _ in range(3):
        server.json(error_body(503, "Service Unavailable"), status=503)
    result = run("chat", "hi", "--retries", "2", expect=7)
    assert len(server.requests) == 3
    assert error_line(result.stderr) == \
        "orcli: error: HTTP 503: Service Unavailable (after 3 attempts)"


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 524, 529])
def test_each_transient_status_is_retried(server, run, status):
    server.json(error_body(status, "try later"), status=status)
    server.json(completion("ok"))
    assert run("chat", "hi").stdout == "ok\n"
    assert len(server.requests) == 2


def test_the_same_body_is_sent_on_every_attempt(server, run):
    server.json(ERR_502_PROVIDER, status=502)
    server.json(completion("ok"))
    run("chat", "hi", "-t", "0")
    assert server.requests[0].body == server.requests[1].body


def test_429_after_the_retries_exits_6(server, run):
    server.json(ERR_429, status=429)
    server.json(ERR_429, status=429)
    result = run("chat", "hi", "--retries", "1", expect=6)
    assert len(server.requests) == 2
    assert "HTTP 429: Rate limit exceeded: free-models-per-day" in error_line(result.stderr)


@pytest.mark.parametrize("status,code", [(400, 4), (401, 3), (402, 5), (403, 4), (404, 4),
                                         (413, 4), (422, 4)])
def test_refusals_are_not_retried(server, run, status, code):
    server.json(error_body(status, "no"), status=status)
    run("chat", "hi", "--retries", "3", expect=code)
    assert len(server.requests) == 1


def test_retries_zero_means_one_request(server, run, waits):
    server.json(error_body(503, "down"), status=503)
    run("chat", "hi", "--retries", "0", expect=7)
    assert len(server.requests) == 1 and waits == []


def test_retries_from_the_environment(server, run):
    server.json(error_body(503, "down"), status=503)
    server.json(error_body(503, "down"), status=503)
    run("chat", "hi", env={"ORCLI_RETRIES": "1"}, expect=7)
    assert len(server.requests) == 2


# ---- the server's advice: Retry-After, X-RateLimit-Reset -----------------------

def test_retry_after_seconds_is_waited_exactly(server, run, waits):
    server.json(ERR_429, status=429, headers={"Retry-After": "1"})
    server.json(completion("ok"))
    run("chat", "hi")
    assert waits == [1.0] and len(server.requests) == 2


def test_retry_after_zero_retries_at_once(server, run, waits):
    server.json(ERR_429, status=429, headers={"Retry-After": "0"})
    server.json(completion("ok"))
    run("chat", "hi")
    assert waits == [0.0]


def test_retry_after_as_an_http_date(server, run, waits):
    server.json(ERR_429, status=429, headers={"Retry-After": formatdate(time.time() + 30,
                                                                        usegmt=True)})
    server.json(completion("ok"))
    run("chat", "hi")
    assert len(waits) == 1 and 27 <= waits[0] <= 31


def test_x_ratelimit_reset_in_epoch_ms_when_no_retry_after(server, run, waits):
    reset_ms = int((time.time() + 20) * 1000)
    server.json(ERR_429, status=429, headers={"X-RateLimit-Reset": str(reset_ms)})
    server.json(completion("ok"))
    run("chat", "hi")
    assert len(waits) == 1 and 17 <= waits[0] <= 21


def test_x_ratelimit_reset_inside_the_error_metadata(server, run, waits):
    # OpenRouter copies the rate-limit headers into error.metadata.headers.
    reset_ms = int((time.time() + 10) * 1000)
    body = error_body(429, "Rate limit exceeded", {"headers": {"X-RateLimit-Reset": reset_ms}})
    server.json(body, status=429)
    server.json(completion("ok"))
    run("chat", "hi")
    assert len(waits) == 1 and 7 <= waits[0] <= 11


def test_retry_after_over_60_s_exits_6_at_once_saying_when(server, run, waits):
    server.json(ERR_429, status=429, headers={"Retry-After": "300"})
    result = run("chat", "hi", expect=6)
    assert len(server.requests) == 1 and waits == []
    line = error_line(result.stderr)
    assert line.startswith("orcli: error: rate limited: try again in 5 min (at ")
    assert " UTC); HTTP 429: Rate limit exceeded" in line


def test_long_retry_after_on_a_503_also_exits_6(server, run):
    server.json(error_body(503, "maintenance"), status=503, headers={"Retry-After": "7200"})
    result = run("chat", "hi", expect=6)
    assert "the server asks to wait: try again in 2 h (at " in result.stderr
    assert "HTTP 503: maintenance" in result.stderr and len(server.requests) == 1


def test_short_retry_after_on_the_last_attempt_is_reported(server, run):
    server.json(ERR_429, status=429, headers={"Retry-After": "5"})
    result = run("chat", "hi", "--retries", "0", expect=6)
    assert error_line(result.stderr).endswith("; try again in 5 s")


@pytest.mark.parametrize("headers,when", [
    ({"Retry-After": "1e20"}, "in 27777777777777776 h; "),
    ({"X-RateLimit-Reset": "1" + "0" * 22}, " h; "),  # epoch ms far past year 9999
])
def test_retry_after_past_any_date_exits_6_without_a_clock_time(server, run, waits, headers,
                                                                 when):
    server.json(ERR_429, status=429, headers=headers)
    line = error_line(run("chat", "hi", expect=6).stderr)
    assert line.startswith("orcli: error: rate limited: try again in ") and when in line
    assert "UTC" not in line and waits == []


@pytest.fixture
def local_time_5_hours_behind(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A POSIX TZ string needs no tz database; "EST5" is UTC-5 all year.
    monkeypatch.setenv("TZ", "EST5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("date", ["Thu, 02 Jan 2025 14:00:30 GMT", "Thu, 02 Jan 2025 14:00:30",
                                  "Thu, 02 Jan 2025 14:00:30 -0000"])
def test_retry_after_date_without_a_zone_is_utc_not_local(local_time_5_hours_behind, date):
    assert time.localtime(0).tm_hour == 19  # the zone really is in force
    assert parse_retry_after(date, calendar.timegm((2025, 1, 2, 14, 0, 0))) == 30.0


# ---- redirects and ~/.netrc ----------------------------------------------------------

def test_redirect_is_not_followed_and_names_the_new_base_url(server, run):
    new_base = "https://example.test/v2"
    server.reply(Reply(301, {"Location": new_base + "/chat/completions"}, []))
    result = run("chat", "hi", expect=3)
    assert [(r.method, r.path) for r in server.requests] == [("POST", "/api/v1/chat/completions")]
    assert error_line(result.stderr) == (
        f"orcli: error: HTTP 301: the server redirected to {new_base}/chat/completions; "
        f"set --base-url to {new_base}")


def test_a_redirect_that_adds_a_trailing_slash_still_names_a_base_url(server, run):
    server.reply(Reply(301, {"Location": "/v3/models/"}, []))
    result = run("models", expect=3)
    assert error_line(result.stderr).endswith("set --base-url to http://127.0.0.1:"
                                              f"{server.server.server_address[1]}/v3")


@pytest.mark.parametrize("command", ["stream", "models"])
def test_relative_redirect_on_a_stream_or_the_catalog_exits_3(server, run, command):
    suffix = "/models" if command == "models" else "/chat/completions"
    server.reply(Reply(308, {"Location": "/api/v2" + suffix}, []))
    result = run(command, "hi" if command == "stream" else "x", "--retries", "0", expect=3)
    assert len(server.requests) == 1
    assert f"set --base-url to {server.base_url.replace('v1', 'v2')}" in result.stderr


def test_redirect_without_a_location_exits_3(server, run):
    server.reply(Reply(302, {}, []))
    assert "redirected without saying where" in run("chat", "hi", expect=3).stderr


def test_netrc_entry_for_the_host_does_not_replace_the_bearer_key(server, run, monkeypatch,
                                                                   tmp_path):
    home = tmp_path / "netrc-home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password hunter2\n")
    netrc.chmod(0o600)  # Python's netrc refuses a file others can read
    monkeypatch.setenv("HOME", str(home))  # requests looks in the process's own HOME
    monkeypatch.delenv("NETRC", raising=False)
    server.json(completion("ok"))
    run("chat", "hi")
    assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_proxies_from_the_environment_are_still_used(server, run, monkeypatch):
    # Keeping netrc out must not turn trust_env off: the request goes to the proxy.
    monkeypatch.setenv("HTTP_PROXY", server.base_url.rsplit("/api/v1", 1)[0])
    monkeypatch.setenv("NO_PROXY", "")
    server.json(completion("via the proxy"))
    assert run("chat", "hi", base_url="http://upstream.invalid/api/v1").stdout == \
        "via the proxy\n"
    assert server.requests[0].path == "http://upstream.invalid/api/v1/chat/completions"



# ---- transient codes inside a body ----------------------------------------------

def test_400_whose_error_code_is_502_is_retried(server, run):
    server.json(error_body(502, "Provider returned error"), status=400)
    server.json(completion("ok"))
    assert run("chat", "hi").stdout == "ok\n"
    assert len(server.requests) == 2


def test_400_whose_error_code_is_502_exits_7_after_the_retries(server, run):
    server.json(error_body("502", "Provider returned error"), status=400)
    server.json(error_body("502", "Provider returned error"), status=400)
    result = run("chat", "hi", "--retries", "1", expect=7)
    assert "HTTP 400: Provider returned error (after 2 attempts)" in result.stderr


def test_200_with_an_error_body_coded_502_is_retried(server, run):
    server.json(ERR_200)
    server.json(completion("ok"))
    assert run("chat", "hi").stdout == "ok\n"
    assert len(server.requests) == 2


def test_200_with_an_error_body_coded_400_is_not_retried(server, run):
    server.json({"error": {"code": 400, "message": "bad tool schema"}})
    result = run("chat", "hi", expect=7)
    assert "error inside a 200 answer (code 400): bad tool schema" in result.stderr
    assert len(server.requests) == 1


def test_200_with_an_error_body_coded_429_exits_6(server, run):
    server.json({"error": {"code": 429, "message": "slow down"}})
    run("chat", "hi", "--retries", "0", expect=6)


# ---- error bodies a broken or hostile server may send ------------------------------

CATALOG_PAGE = {"data": [{"id": "m", "name": "M"}]}

DEEP = b"[" * 100_000  # deeper than json.loads can go: RecursionError, not ValueError


def test_500_with_a_body_nested_too_deep_is_retried_then_exits_7(server, run):
    for _ in range(3):
        server.raw(DEEP, status=500, content_type="application/json")
    result = run("chat", "hi", expect=7)
    assert len(server.requests) == 3
    assert error_line(result.stderr) == ("orcli: error: HTTP 500: the server sent a body that "
                                         "is not JSON (after 3 attempts)")


def test_400_with_a_body_nested_too_deep_exits_4(server, run):
    server.raw(DEEP, status=400, content_type="application/json")
    result = run("chat", "hi", expect=4)
    assert len(server.requests) == 1 and "HTTP 400" in result.stderr


@pytest.mark.parametrize("reasons", [5, "harassment", {"a": 1}, None, True])
def test_moderation_reasons_that_are_not_a_list_are_left_out(server, run, reasons):
    server.json(error_body(403, "flagged", {"reasons": reasons, "provider_name": "OpenAI"}),
                status=403)
    result = run("chat", "hi", expect=4)
    assert error_line(result.stderr) == "orcli: error: HTTP 403: flagged (provider OpenAI)"


def test_huge_provider_name_and_reasons_are_squeezed(server, run):
    metadata = {"provider_name": "P\n" * 50_000, "reasons": ["r" * 1000] * 1000}
    server.json(error_body(403, "flagged", metadata), status=403)
    line = error_line(run("chat", "hi", expect=4).stderr)
    assert len(line) < 500 and "provider P P P" in line and "reasons: rrr" in line



# ---- streams: retried up to the first event, never after -------------------------

def test_stream_503_before_any_event_is_retried(server, run):
    server.json(error_body(503, "down"), status=503)
    server.sse(stream_of(["Hel", "lo"]))
    assert run("stream", "hi").stdout == "Hello\n"
    assert len(server.requests) == 2


def test_stream_whose_first_event_is_a_502_error_is_retried(server, run):
    server.sse([PROCESSING, data(error_body(502, "Provider returned error")), DONE])
    server.sse(stream_of(["fresh answer"]))
    result = run("stream", "hi")
    assert result.stdout == "fresh answer\n" and len(server.requests) == 2


def test_stream_error_after_text_is_not_retried_and_text_stays(server, run):
    server.sse([data(chunk("partial ")), data(error_body(502, "Provider returned error"))])
    result = run("stream", "hi", "--retries", "3", expect=7)
    assert result.stdout == "partial \n" and len(server.requests) == 1
    assert "Provider returned error" in error_line(result.stderr)


def test_stream_first_event_error_that_is_not_transient_is_not_retried(server, run):
    server.sse([data(error_body(400, "context too long")), DONE])
    result = run("stream", "hi", expect=7)
    assert "context too long" in result.stderr and len(server.requests) == 1


def test_stream_first_event_is_replayed_to_the_reader(server):
    server.sse([PROCESSING, data(chunk("a")), data(chunk("b")), DONE])
    with Client(settings_for(server.base_url)).stream({"model": "m", "messages": []}) as reply:
        assert [e.text for e in reply.events if isinstance(e, Content)] == ["a", "b"]


def test_one_client_reuses_one_connection_for_many_calls(server):
    client = Client(settings_for(server.base_url))
    for text in ("a", "b", "c"):
        server.json(completion(text))
        assert client.chat({"model": "m"}).answer["choices"][0]["message"]["content"] == text
    server.json(CATALOG_PAGE)
    client.list_models()
    assert server.connections == 1


# ---- time limits -------------------------------------------------------------------

def test_read_timeout_after_headers_is_not_retried(server, run):
    gate = threading.Event()
    server.reply(Reply(200, {"Content-Type": "application/json"},
                       [gate, json.dumps(completion()).encode()], framing="chunked"))
    try:
        result = run("chat", "hi", "--timeout", "0.5", "--retries", "2", expect=7)
    finally:
        gate.set()
    assert error_line(result.stderr) == \
        "orcli: error: the answer did not finish within 0.5 s (--timeout)"
    assert len(server.requests) == 1


def test_timeout_waiting_for_headers_is_not_retried(run, raw_server):
    silent = raw_server("silent")
    result = run("chat", "hi", "--timeout", "0.5", base_url=silent.base_url, expect=7)
    assert error_line(result.stderr) == "orcli: error: no answer within 0.5 s (--timeout)"
    assert silent.connections == 1


def test_keepalive_comments_do_not_reset_the_stream_deadline(server, run):
    server.sse([PROCESSING, 0.1] * 15)  # a comment every 0.1 s for 1.5 s, never an event
    result = run("stream", "hi", "--timeout", "0.5", expect=7)
    assert "within 0.5 s (--timeout)" in error_line(result.stderr)
    assert len(server.requests) == 1


def test_a_stream_that_keeps_producing_text_is_never_cut(server, run):
    pieces = [data(chunk(str(i % 10))) for i in range(12)]
    server.sse([w for piece in pieces for w in (piece, 0.1)] + [DONE])
    result = run("stream", "hi", "--timeout", "0.5")  # 1.2 s in all, 0.1 s between events
    assert result.stdout == "012345678901\n"


def test_keepalives_between_events_do_not_count_as_progress(server, run):
    server.sse([data(chunk("a"))] + [PROCESSING, 0.1] * 15 + [data(chunk("b")), DONE])
    result = run("stream", "hi", "--timeout", "0.5", expect=7)
    assert result.stdout == "a\n"
    assert "did not finish within 0.5 s" in result.stderr


def test_stream_going_silent_keeps_the_text_and_exits_7(server, run):
    gate = threading.Event()
    server.sse([data(chunk("so far")), gate, DONE])
    try:
        result = run("stream", "hi", "--timeout", "0.5", expect=7)
    finally:
        gate.set()
    assert result.stdout == "so far\n"
    assert error_line(result.stderr) == \
        "orcli: error: the answer did not finish within 0.5 s (--timeout)"
    assert len(server.requests) == 1


def test_whitespace_keepalive_does_not_reset_the_chat_deadline(server, run):
    server.reply(Reply(200, {"Content-Type": "application/json"}, [b"\n", 0.1] * 15,
                       framing="chunked"))  # a newline every 0.1 s for 1.5 s
    result = run("chat", "hi", "--timeout", "0.5", expect=7)
    assert "did not finish within 0.5 s" in result.stderr


def test_whitespace_keepalive_then_the_answer_within_the_deadline(server, run):
    body = json.dumps(completion("worth the wait")).encode()
    server.reply(Reply(200, {"Content-Type": "application/json"},
                       [b"\n", 0.1, b"\n", 0.1, body], framing="chunked"))
    assert run("chat", "hi", "--timeout", "5").stdout == "worth the wait\n"


# ---- connection faults ---------------------------------------------------------------

def test_connection_refused_is_retried_then_exits_7(run, waits):
    result = run("chat", "hi", "--retries", "2", base_url=closed_port_url(), expect=7)
    assert len(waits) == 2 and len(retry_lines(result.stderr)) == 2
    line = error_line(result.stderr)
    assert "cannot reach http://127.0.0.1:" in line
    assert line.endswith(": connection refused (after 3 attempts)")


def test_connection_reset_is_retried(run, raw_server):
    fault = raw_server("reset", "reset")
    result = run("chat", "hi", "--retries", "1", base_url=fault.base_url, expect=7)
    assert fault.connections == 2
    assert "connection reset by the server (after 2 attempts)" in error_line(result.stderr)


def test_reset_then_an_answer_succeeds(run, raw_server):
    body = json.dumps(completion("after the reset")).encode()
    answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
              b"Connection: close\r\n\r\n%s" % (len(body), body))
    fault = raw_server("reset", answer)
    assert run("chat", "hi", base_url=fault.base_url).stdout == "after the reset\n"
    assert fault.connections == 2


def test_server_closing_without_an_answer_is_retried(run, raw_server):
    fault = raw_server("close", "close")
    result = run("chat", "hi", "--retries", "1", base_url=fault.base_url, expect=7)
    assert "the server closed the connection without answering" in result.stderr
    assert fault.connections == 2


def test_name_resolution_failure_is_retried_then_exits_7(run, waits):
    result = run("chat", "hi", "--retries", "1", base_url="http://api.orcli.invalid/api/v1",
                 expect=7)
    assert error_line(result.stderr) == (
        "orcli: error: cannot reach http://api.orcli.invalid/api/v1/chat/completions: "
        "the host name could not be resolved (DNS) (after 2 attempts)")
    assert len(waits) == 1


def test_tls_error_is_not_retried(server, run, waits):
    https_url = server.base_url.replace("http://", "https://")
    result = run("chat", "hi", base_url=https_url, expect=7)
    line = error_line(result.stderr)
    assert line.startswith("orcli: error: TLS error talking to https://127.0.0.1:")
    assert "wrong version number" in line and waits == []
    assert server.requests == []  # the handshake never became a request


def test_untrusted_certificate_is_a_tls_error_not_retried(run, tmp_path, waits):
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    handshakes: list[str] = []

    def serve_one() -> None:
        conn, _ = listener.accept()
        try:
            context.wrap_socket(conn, server_side=True).close()
        except (ssl.SSLError, OSError) as exc:
            handshakes.append(type(exc).__name__)

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{listener.getsockname()[1]}/api/v1"
    result = run("chat", "hi", base_url=url, expect=7)
    thread.join(5)
    listener.close()
    assert "TLS error talking to https://127.0.0.1:" in error_line(result.stderr)
    assert "certificate verify failed: self-signed certificate" in result.stderr
    assert waits == [] and len(handshakes) == 1  # one handshake, no retry


def test_garbage_instead_of_http_exits_7(run, raw_server):
    fault = raw_server(b"SSH-2.0-OpenSSH_9.6\r\n")
    result = run("chat", "hi", "--retries", "0", base_url=fault.base_url, expect=7)
    assert error_line(result.stderr).startswith("orcli: error: cannot reach")


@pytest.mark.parametrize("url", ["http://:80/api", "http://exa mple.com/api", "http://a..b/api",
                                 "http://example.com:99999/api"])
def test_unusable_base_url_exits_3(run, url):
    result = run("chat", "hi", base_url=url, expect=3)
    assert error_line(result.stderr).startswith("orcli: error: the base URL cannot be used")


# ---- bodies that are wrong -------------------------------------------------------------

def test_json_body_cut_short_is_not_retried(server, run):
    server.reply(Reply(200, {"Content-Type": "application/json"},
                       [json.dumps(completion())[:40].encode()], cut=True))
    result = run("chat", "hi", expect=7)
    assert error_line(result.stderr) == \
        "orcli: error: the connection closed before the answer was complete"
    assert len(server.requests) == 1


def test_malformed_json_in_a_200_exits_7(server, run):
    server.raw(b'{"id": "gen-1", "choices": [', content_type="application/json")
    result = run("chat", "hi", expect=7)
    assert error_line(result.stderr) == \
        "orcli: error: HTTP 200 but the answer is not JSON (unreadable body)"
    assert len(server.requests) == 1


def test_json_that_is_not_an_object_exits_7(server, run):
    server.raw(b'["a", "list"]', content_type="application/json")
    assert "not a JSON object" in run("chat", "hi", expect=7).stderr


def test_html_error_page_is_retried_then_summarised(server, run):
    page = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>"
    server.raw(page, status=502)
    server.raw(page, status=502)
    result = run("chat", "hi", "--retries", "1", expect=7)
    assert error_line(result.stderr) == \
        "orcli: error: HTTP 502: the server sent an HTML page (after 2 attempts)"


def test_html_page_answering_a_stream_exits_7(server, run):
    server.raw(b"<html><body>Please log in to the captive portal</body></html>")
    result = run("stream", "hi", expect=7)
    assert "but the answer is an HTML page, not JSON; check --base-url" in result.stderr


def test_error_inside_a_200_exits_7_naming_the_provider(server, run):
    server.json(ERR_200)
    result = run("chat", "hi", "--retries", "0", expect=7)
    assert "error inside a 200 answer (code 502): Provider returned error" in result.stderr
    assert "provider Mistral" in result.stderr


def test_malformed_sse_exits_7(server, run):
    server.sse([data(chunk("ok ")), b"data: {not json\n\n", DONE])
    result = run("stream", "hi", expect=7)
    assert result.stdout == "ok \n"
    assert "stream sent data that is not JSON" in error_line(result.stderr)


def test_stream_closed_before_done_keeps_the_text_and_exits_7(server, run):
    server.sse([data(chunk("one ")), data(chunk("two"))], framing="close")
    result = run("stream", "hi", expect=7)
    assert result.stdout == "one two\n"
    assert "stream ended before [DONE]" in error_line(result.stderr)


def test_stream_ending_cleanly_after_its_finish_reason_is_complete(server, run):
    # transformers serve never sends [DONE]; the tool call and usage still come out.
    server.sse([data(chunk(tool_calls=[{"index": 0, "id": "c1", "function": {
        "name": "f", "arguments": "{}"}}])), data(chunk(finish_reason="tool_calls")),
        data(usage_chunk())], framing="close")
    result = run("stream", "hi", "--usage")
    assert json.loads(result.stdout) == [{"id": "c1", "name": "f", "arguments": {}}]
    assert "3 in, 7 out" in result.stderr


def test_cut_chunked_stream_keeps_the_text_and_exits_7(server, run):
    server.sse(stream_of(["one ", "two"])[:-3], cut=True)
    result = run("stream", "hi", expect=7)
    assert result.stdout == "one two\n"
    assert error_line(result.stderr) == \
        "orcli: error: the connection closed before the answer was complete"
    assert len(server.requests) == 1


def test_empty_choices_exits_7(server, run):
    answer = completion("x")
    answer["choices"] = []
    server.json(answer)
    result = run("chat", "hi", expect=7)
    assert error_line(result.stderr) == \
        "orcli: error: the answer has no choices (the provider returned nothing)"


def test_null_content_is_an_empty_answer_with_a_warning(server, run):
    server.json(completion(None, finish_reason="content_filter"))
    result = run("chat", "hi")
    assert result.stdout == ""
    assert result.stderr == "orcli: warning: empty answer (finish_reason: content_filter)\n"


@pytest.mark.parametrize("message", ["a string", ["a", "list"], {"content": 5}])
def test_answer_with_a_message_of_the_wrong_shape_exits_7(server, run, message):
    answer = completion("x")
    answer["choices"][0]["message"] = message
    server.json(answer)
    assert "orcli: error:" in run("chat", "hi", expect=7).stderr


def test_stream_answered_with_one_json_error_body(server, run):
    server.json(error_body(400, "stream not supported here"))
    result = run("stream", "hi", expect=7)
    assert "stream not supported here" in result.stderr


# ---- the policy itself, as tables -------------------------------------------------------

def settings_for(base_url: str, **flags: object) -> object:
    return resolve_settings({"base_url": base_url, **flags},
                            {"OPENROUTER_API_KEY": API_KEY}, {}, "none")


def test_backoff_is_injectable_through_the_constructor(server):
    waits: list[float] = []
    server.json(error_body(500, "x"), status=500)
    server.json(completion("ok"))
    backoff = Backoff(base=0.25, sleep=waits.append, jitter=lambda: 0.0)
    answer = Client(settings_for(server.base_url), backoff=backoff).chat({"model": "m"}).answer
    assert answer["choices"][0]["message"]["content"] == "ok"
    assert waits == [0.125]  # no jitter: half the first step


@pytest.mark.parametrize("attempt,low,high", [(1, 0.5, 1.0), (2, 1.0, 2.0), (3, 2.0, 4.0),
                                              (10, 15.0, 30.0)])
def test_backoff_grows_and_is_capped(attempt, low, high):
    assert Backoff(jitter=lambda: 0.0).delay(attempt) == low
    assert Backoff(jitter=lambda: 1.0).delay(attempt) == high


@pytest.mark.parametrize("value,expected", [
    ("5", 5.0), (" 0 ", 0.0), ("1.5", 1.5), ("-3", 0.0), ("soon", None), ("", None),
    ("nan", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    (formatdate(1_000_120, usegmt=True), 120.0),
])
def test_parse_retry_after(value, expected):
    now = 1_000_000.0 if "1970" in value else time.time()
    assert parse_retry_after(value, now) == expected


@pytest.mark.parametrize("value,expected", [
    ("1700000030000", 30.0), (1_700_000_030_000, 30.0), ("1699999990000", None),
    ("1700000030", 30.0), ("never", None), ("inf", None),
])
def test_parse_reset_takes_epoch_milliseconds(value, expected):
    assert parse_reset(value, 1_700_000_000.0) == expected


@pytest.mark.parametrize("seconds,expected", [
    (5, "in 5 s"), (0.2, "in 1 s"), (90, "in 90 s"), (300, "in 5 min (at 00:05 UTC)"),
    (7200, "in 2 h (at 02:00 UTC)"), (93600, "in 26 h (at 1970-01-02 02:00 UTC)"),
    (1e20, "in 27777777777777776 h"),
])
def test_describe_wait(seconds, expected):
    assert describe_wait(seconds, 0.0) == expected


@pytest.mark.parametrize("error,expected", [
    ({"code": 502}, 502), ({"code": "503"}, 503), ({"code": "server_error"}, 500),
        ({"code": "rate_limit_exceeded"}, 429), ({"code": "no_such_name"}, None),
    ({"code": True}, None), ({}, None), ("text", None), (None, None),
    ({"code": " 502 "}, 502), ({"code": "²"}, None), ({"code": "-1"}, None),
])
def test_error_code(error, expected):
    assert error_code(error) == expected


def test_replies_answer_by_method_and_path_whatever_the_order(server, run):
    server.json(completion("the answer"), path="/chat/completions", method="POST")
    server.json({"data": [{"id": "m", "name": "M"}]}, path="/models", method="GET")
    assert run("models").stdout.startswith("m\t")
    assert run("chat", "hi").stdout == "the answer\n"
