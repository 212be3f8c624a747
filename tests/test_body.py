"""Tests for orcli.http.body (chunked framing undone over reads split at any byte), and
for which reader orcli.http.client gives each body."""

from __future__ import annotations

import gzip
from http.client import IncompleteRead

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orcli.http.body import MAX_SIZE_LINE, ChunkedReader
from tests.fake_openrouter import Reply, stream_of


class ScriptedConnection:
    """A buffered reader whose read1 returns the scripted pieces, one per call."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = list(pieces)
        self.reads = 0

    def read1(self, size: int) -> bytes:
        self.reads += 1
        return self.pieces.pop(0) if self.pieces else b""


def framed(*chunks: bytes, end: bytes = b"0\r\n\r\n") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + end


def read_all(reader: ChunkedReader) -> list[bytes]:
    out = []
    while piece := reader.read1(65536):
        out.append(piece)
    return out


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts} - {0, len(data)})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def test_every_chunk_of_one_read_comes_back_at_once() -> None:
    body = framed(b"data: a\n\n", b"data: b\n\n", b"data: [DONE]\n\n")
    reader = ChunkedReader(ScriptedConnection([body]))
    assert read_all(reader) == [b"data: a\n\ndata: b\n\ndata: [DONE]\n\n"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=40), max_size=8),
       st.lists(st.integers(min_value=0), max_size=30))
def test_any_split_gives_the_same_data(chunks: list[bytes], cuts: list[int]) -> None:
    body = framed(*chunks)
    reader = ChunkedReader(ScriptedConnection(split_at(body, cuts)))
    assert b"".join(read_all(reader)) == b"".join(chunks)


SIZE_LINES = {
    "uppercase hex": (b"1A\r\n" + b"x" * 26 + b"\r\n0\r\n\r\n", b"x" * 26),
    "extension": (b"3;name=value\r\nabc\r\n0;last\r\n\r\n", b"abc"),
    "spaces": (b"3 \r\nabc\r\n0\r\n\r\n", b"abc"),
    "trailers are not needed": (b"3\r\nabc\r\n0\r\nX-Trailer: 1\r\n", b"abc"),
}


@pytest.mark.parametrize(("body", "data"), SIZE_LINES.values(), ids=SIZE_LINES.keys())
def test_size_lines(body: bytes, data: bytes) -> None:
    assert b"".join(read_all(ChunkedReader(ScriptedConnection([body])))) == data


def test_nothing_is_read_after_the_last_chunk() -> None:
    connection = ScriptedConnection([framed(b"abc"), b"never read"])
    assert read_all(ChunkedReader(connection)) == [b"abc"]
    assert connection.pieces == [b"never read"]


BROKEN = {
    "closed before the last chunk": [framed(b"abc", end=b"")],
    "closed inside a chunk": [b"5\r\nab"],
    "closed inside a size line": [b"3\r\nabc\r\n1"],
    "not hex": [b"zz\r\nabc\r\n0\r\n\r\n"],
    "negative": [b"-3\r\nabc\r\n0\r\n\r\n"],
    "size line too long": [b"1" * (MAX_SIZE_LINE + 1)],
}


@pytest.mark.parametrize("pieces", BROKEN.values(), ids=BROKEN.keys())
def test_broken_bodies_raise_incomplete_read(pieces: list[bytes]) -> None:
    reader = ChunkedReader(ScriptedConnection(pieces))
    with pytest.raises(IncompleteRead):
        read_all(reader)


def test_a_read_of_framing_only_is_followed_by_another_with_its_own_turn() -> None:
    # b"" means the end, so a read that brought only a size line reads again;
    # before_read (the deadline's check) runs before every read of the socket.
    turns: list[int] = []
    connection = ScriptedConnection([b"3\r\n", b"abc\r\n", b"0\r\n\r\n"])
    reader = ChunkedReader(connection, before_read=lambda: turns.append(connection.reads))
    assert reader.read1(65536) == b"abc"
    assert turns == [0, 1]
    assert reader.read1(65536) == b""
    assert turns == [0, 1, 2]


# ---- through the client ------------------------------------------------------------------


def test_a_stream_asks_for_an_uncompressed_body(server, run):
    server.sse(stream_of(["ok"]))
    assert run("stream", "hi").stdout == "ok\n"
    assert server.requests[0].headers["accept-encoding"] == "identity"


@pytest.mark.parametrize("framing", ["chunked", "length", "close"])
def test_every_framing_of_a_stream(server, run, framing):
    server.sse(stream_of(["one ", "two"]), framing=framing)
    assert run("stream", "hi").stdout == "one two\n"


@pytest.mark.parametrize("framing", ["chunked", "length", "close"])
def test_a_stream_compressed_anyway_is_decoded_by_urllib3(server, run, framing):
    # A server or proxy may compress whatever Accept-Encoding says.
    body = gzip.compress(b"".join(stream_of(["com", "pressed"])))
    headers = {"Content-Type": "text/event-stream", "Content-Encoding": "gzip"}
    server.reply(Reply(200, headers, [body[:20], body[20:]], framing=framing))
    assert run("stream", "hi").stdout == "compressed\n"
