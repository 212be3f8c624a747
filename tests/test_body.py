"""Reading a response body through urllib3: every framing, and compression a server
applies whatever orcli asked for."""

from __future__ import annotations

import gzip

import pytest

from tests.fake_openrouter import Reply, stream_of


def test_a_stream_asks_for_an_uncompressed_body(server, run):
    server.sse(stream_of(["ok"]))
    assert run("stream", "hi").stdout == "ok\n"
    assert server.requests[0].headers["accept-encoding"] == "identity"


@pytest.mark.parametrize("framing", ["chunked", "length", "close"])
def test_every_framing_of_a_stream(server, run, framing):
    server.sse(stream_of(["one ", "two"]), framing=framing)
    assert run("stream", "hi").stdout == "one two\n"


@pytest.mark.parametrize("framing", ["chunked", "length", "close"])
def test_a_stream_compressed_anyway_is_decoded(server, run, framing):
    # A server or proxy may compress whatever Accept-Encoding says.
    body = gzip.compress(b"".join(stream_of(["com", "pressed"])))
    headers = {"Content-Type": "text/event-stream", "Content-Encoding": "gzip"}
    server.reply(Reply(200, headers, [body[:20], body[20:]], framing=framing))
    assert run("stream", "hi").stdout == "compressed\n"


def test_a_gzip_compressed_answer_is_decoded(server, run):
    import json

    from tests.fake_openrouter import completion

    body = gzip.compress(json.dumps(completion("unzipped")).encode())
    server.reply(Reply(200, {"Content-Type": "application/json", "Content-Encoding": "gzip"},
                       [body]))
    assert run("chat", "hi").stdout == "unzipped\n"
