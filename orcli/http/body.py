"""Reading a response body off the connection: in big reads, within a deadline.

http.client's read1 stops at the end of each chunk, and OpenRouter sends each
SSE event in a chunk of its own, so a 20,000-event stream took 20,000 reads,
each through several layers of Python (issue 8's profile). `ChunkedReader`
takes whatever one read of the connection brings and returns the data of every
chunk in it, so one read often carries many events. Errors are http.client's,
for `orcli.http.client` to put into words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from http.client import IncompleteRead
from typing import Any, BinaryIO

from orcli.http.retry import Deadline, timed_out

READ_SIZE = 64 * 1024

# As in http.client: a chunk-size line this long is not one.
MAX_SIZE_LINE = 64 * 1024


class ChunkedReader:
    """The data of a chunked body, read from the connection's buffered reader.

    `before_read` runs before every read of the connection, so a deadline can
    shrink the socket's timeout each time (see orcli.http.client.iter_body). Errors
    are http.client's: IncompleteRead for a body cut short or a bad size line.
    """

    def __init__(self, fp: BinaryIO, before_read: Callable[[], None] = lambda: None) -> None:
        self.fp = fp  # positioned at the first chunk-size line
        self.before_read = before_read
        self.left = 0  # data bytes of the current chunk still to come
        self.skip = 0  # bytes of the CRLF after a chunk's data still to come
        self.line = b""  # the start of a chunk-size line that the last read cut
        self.done = False  # the last (zero-size) chunk is in; its trailers are not needed

    def read1(self, size: int) -> bytes:
        """The chunk data in the next read of the connection; b"" once the body is over.

        A read that brings only framing is followed by another, so b"" always
        means the end.
        """
        while not self.done:
            self.before_read()
            buf = self.fp.read1(size)
            if not buf:
                raise IncompleteRead(b"")  # the connection closed before the last chunk
            data = self._unframe(buf)
            if data:
                return data
        return b""

    def _unframe(self, buf: bytes) -> bytes:
        """The chunk data in `buf`, without the framing around it."""
        pieces = []
        pos, end = 0, len(buf)
        while pos < end and not self.done:
            if self.left:  # inside a chunk's data
                piece = buf[pos : pos + self.left]
                pieces.append(piece)
                pos += len(piece)
                self.left -= len(piece)
                if not self.left:
                    self.skip = 2
            elif self.skip:  # the CRLF after a chunk's data
                step = min(self.skip, end - pos)
                pos += step
                self.skip -= step
            else:
                newline = buf.find(b"\n", pos)
                if newline < 0:
                    self.line += buf[pos:]  # bounded: a long line fails below
                    if len(self.line) > MAX_SIZE_LINE:
                        raise IncompleteRead(b"")
                    break
                size = chunk_size(self.line + buf[pos:newline])
                self.line = b""
                pos = newline + 1
                stop = pos + size
                if size and stop + 2 <= end:  # the whole chunk and its CRLF: the usual case
                    pieces.append(buf[pos:stop])
                    pos = stop + 2
                else:
                    self.left = size
                    self.done = not size
        return b"".join(pieces)


def chunk_size(line: bytes) -> int:
    """The size in a chunk-size line such as b"1a;name=value\\r", read as http.client does."""
    if len(line) > MAX_SIZE_LINE:
        raise IncompleteRead(b"")
    try:
        size = int(line.split(b";", 1)[0], 16)
    except ValueError:
        raise IncompleteRead(b"") from None
    if size < 0:
        raise IncompleteRead(b"")
    return size


def iter_chunks(raw: Any, deadline: Deadline) -> Iterator[bytes]:
    """The body's bytes as they arrive (urllib3's `response.raw`), within the deadline.

    Each read returns what is there and never waits to fill a buffer; before
    each read the socket may wait only for what is left of the deadline.
    """
    sock = getattr(getattr(raw, "connection", None), "sock", None)

    def before_read() -> None:
        left = deadline.remaining()
        if left <= 0:
            raise timed_out(deadline.seconds, during_answer=True)
        if sock is not None:
            sock.settimeout(left)

    read1 = body_reader(raw, before_read)
    while True:
        chunk = read1(READ_SIZE)
        if not chunk:
            check_complete(raw)
            return
        yield chunk


def body_reader(raw: Any, before_read: Callable[[], None]) -> Callable[[int], bytes]:
    """The body's read1, calling `before_read` before each read of the socket.

    A body with nothing to decode is read below urllib3, whose read1 puts a
    decoding buffer and four layers of calls around each read: more CPU than
    parsing the SSE event it returns (issue 8's profile). A chunked body goes
    through ChunkedReader, which returns every chunk a read brings (http.client
    returns one per call), any other through http.client. `_fp` is private to
    urllib3, so anything unexpected there goes urllib3's way.
    """
    import http.client

    fp = getattr(raw, "_fp", None)
    encoding = raw.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity") or not isinstance(fp, http.client.HTTPResponse):
        return _gated(partial(raw.read1, decode_content=True), before_read)
    if fp.chunked and fp.chunk_left is None and fp.fp is not None:  # no chunk read yet
        return ChunkedReader(fp.fp, before_read).read1
    return _gated(fp.read1, before_read)


def _gated(
    read1: Callable[[int], bytes], before_read: Callable[[], None]
) -> Callable[[int], bytes]:
    """`read1` with `before_read` called first."""

    def read(size: int) -> bytes:
        before_read()
        return read1(size)

    return read


def check_complete(raw: Any) -> None:
    """Raise when a Content-Length body ended short: http.client's read1 just stops."""
    import http.client

    missing = getattr(getattr(raw, "_fp", None), "length", None)
    if missing:
        raise http.client.IncompleteRead(b"", missing)
