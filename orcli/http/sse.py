"""SSE framing: a byte stream, split anywhere, to the data of each event.

Pure: no sockets. `iter_data` follows the SSE standard (line endings, comments,
multi-line data, a byte order mark) and stops at OpenRouter's `data: [DONE]`;
`orcli.http.chunks` reads each event's data as a chat-completion chunk. A
stream that ends without [DONE] raises StreamCut; memory stays bounded: a line
or an event over 64 MiB is refused, and comments are never kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import chain

from orcli.errors import UpstreamError

DONE = "[DONE]"
BOM = b"\xef\xbb\xbf"
# A guard against a server that never sends a newline; generous because a
# single chunk may carry a whole generated image as a data URL.
MAX_LINE_BYTES = 64 * 1024 * 1024


class StreamCut(UpstreamError):
    """The stream ended without [DONE]."""


def iter_data(chunks: Iterable[bytes]) -> Iterator[str]:
    """Yield each SSE event's data, stopping at [DONE]; raise UpstreamError if it never comes.

    An event whose data is empty is not dispatched: some servers send a bare
    `data:` to keep the connection alive, and it holds no JSON to parse. Empty
    data lines are dropped only before an event's first real one, so the rest
    join as the SSE standard says ("a", "" -> "a\\n").
    """
    lines = _LineBuffer()
    data: list[str] = []  # the data lines of the event being read
    size = 0  # their length: one event may not grow without end
    kind = ""  # the event's `event:` field; "error" makes its data an error object
    # The end of the stream also ends its last line, as a newline would.
    for piece in chain(*_without_bom(chunks), (b"\n",)):
        if (piece.startswith(b"data: {") and piece.find(b"\n") == len(piece) - 2
                and piece.endswith(b"\n\n") and b"\r" not in piece
                and not (data or kind or lines.tail or lines.after_cr)):
            # Most of a stream: one whole event in one piece, a JSON object on one
            # data line. It needs no line splitting (half the time per event).
            yield _decode(piece[6:-2])
            continue
        for line in lines.feed(piece):
            if line.startswith("data:"):
                value = line[6:] if line[5:6] == " " else line[5:]
                # A JSON object starts with "{"; only what sorts before it ("[DONE]",
                # "", " x") needs a closer look. One comparison keeps the usual line fast.
                if value < "{" and not data:
                    stripped = value.strip()  # "[DONE] " is an easy slip for a server to make
                    if stripped == DONE:
                        return  # no need to wait for the blank line, or for the socket to close
                    if not stripped:
                        continue  # an empty value opening an event: see above
                data.append(value)
                size += len(value)
                if size > MAX_LINE_BYTES:
                    raise UpstreamError("stream sent an event larger than 64 MiB")
            elif not line:
                if data:
                    yield _event_data(data, kind)
                    data.clear()
                    size = 0
                kind = ""
            elif line == "data":  # a field without a colon has an empty value
                if data:
                    data.append("")
            elif line.startswith("event:"):
                kind = line[6:].strip()
            # Anything else is a comment (": OPENROUTER PROCESSING") or a field
            # orcli does not use (id:, retry:).
    if data:
        # The last event lacks its blank line; still show it, as it may be an error.
        yield _event_data(data, kind)
    raise StreamCut("stream ended before [DONE]: the answer may be incomplete")


def _event_data(lines: list[str], kind: str) -> str:
    """An event's data; an `event: error` event's data is the error object itself."""
    text = "\n".join(lines)
    if kind == "error":
        return f'{{"error": {text if text.lstrip().startswith("{") else json.dumps(text)}}}'
    return text


def _without_bom(chunks: Iterable[bytes]) -> tuple[Iterable[bytes], Iterator[bytes]]:
    """The first pieces (without a leading UTF-8 byte order mark, which the SSE
    standard skips) and the rest, to chain without adding a layer per piece."""
    rest = iter(chunks)
    head = b""
    for piece in rest:  # the mark may come split over the first pieces
        head += piece
        if len(head) >= len(BOM):
            break
    return (head.removeprefix(BOM),), rest


class _LineBuffer:
    """Pieces of bytes, split anywhere, to whole decoded lines without their endings.

    A line ends with LF, CRLF or a lone CR, as the SSE standard has it.
    """

    def __init__(self) -> None:
        self.tail: list[bytes] = []  # pieces of the line still waiting for its line ending
        self.tail_size = 0
        self.after_cr = False  # the last piece ended with CR: a LF opening the next is its pair

    def feed(self, piece: bytes) -> Iterable[str]:
        """The lines this piece completes."""
        if self.after_cr:
            self.after_cr = False
            if piece[:1] == b"\n":
                piece = piece[1:]  # the second half of a CRLF, not an empty line
        if self.tail or piece[-1:] != b"\n":
            return self._join(piece)
        return _decode_lines(piece)  # the usual piece: whole lines, nothing held back

    def _join(self, piece: bytes) -> Iterable[str]:
        """The lines a piece completes when part of a line waits before or after it."""
        end = piece.rfind(b"\n") + 1
        cr = piece.rfind(b"\r", end)  # only after the last LF: a short search
        if cr >= 0:  # a lone CR ends a line too
            end = cr + 1
            self.after_cr = end == len(piece)
        if not end:
            self.tail.append(piece)
            self.tail_size += len(piece)
            if self.tail_size > MAX_LINE_BYTES:
                raise UpstreamError("stream sent a line longer than 64 MiB")
            return ()
        self.tail.append(piece[:end])
        block = b"".join(self.tail)  # joined once: a long line is not copied over and over
        rest = piece[end:]
        self.tail, self.tail_size = ([rest], len(rest)) if rest else ([], 0)
        return _decode_lines(block)


def _decode_lines(block: bytes) -> Iterable[str]:
    """The lines of a block that ends with a line ending."""
    # One decode per block of whole lines: a multi-byte character split between
    # two pieces is whole again by now. Split on line endings only, never
    # splitlines(): U+2028 and U+0085 may appear raw inside JSON strings. JSON
    # strings cannot hold a raw CR, so every CR ends a line.
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        # Line by line, so the lines before the bad one still give their events.
        lines = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        return (_decode(line) for line in lines[:-1])
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    lines.pop()  # the "" after the last line ending
    return lines


def _decode(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        raise UpstreamError("stream sent bytes that are not valid UTF-8") from None
