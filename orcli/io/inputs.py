"""Reading what the user gave: piped stdin, -f files, --messages.

The I/O half of building a prompt; `orcli.request.messages` decodes and assembles the
bytes read here. chat, stream and price share it through `InputOptions`.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from orcli.errors import UsageError
from orcli.options import BodyOptions, InputOptions
from orcli.render.iostreams import Streams
from orcli.request.messages import STDIN, Source, build_messages, decode_input
from orcli.request.payload import BodyFiles

# No model reads this much (the largest contexts are a few million tokens, tens of
# MB of text); the cap keeps `-f /dev/zero` or a runaway pipe from eating memory.
MAX_INPUT_BYTES = 256 * 1024 * 1024


# Read in pieces: one read(MAX_INPUT_BYTES + 1) allocates its whole buffer up front,
# which fails with MemoryError under a 256 MiB address-space limit even for `echo hi`.
_READ_PIECE = 1 << 20


# How long a piped stdin may give nothing (no data, no end) before a note says that
# orcli is waiting for it; only on a terminal stderr, only once.
STDIN_NOTE_SECONDS = 5.0


def read_capped(stream: BinaryIO, label: str,
                while_waiting: Callable[[], None] | None = None) -> bytes:
    """All of a stream, or exit 2 once it passes MAX_INPUT_BYTES (never cut silently).

    `while_waiting` runs once if the first read has brought nothing for
    STDIN_NOTE_SECONDS (`sleep 100 | orcli chat hi` waits for the pipe's end).
    """
    timer = None
    if while_waiting is not None:
        timer = threading.Timer(STDIN_NOTE_SECONDS, while_waiting)
        timer.daemon = True
        timer.start()
    try:
        return _read_all(stream, label, timer)
    finally:
        if timer is not None:
            timer.cancel()


def _read_all(stream: BinaryIO, label: str, timer: threading.Timer | None) -> bytes:
    # BytesIO grows one buffer in place and getvalue() hands it over without a copy,
    # where joining a list of pieces would hold the input twice at the end.
    buffer = io.BytesIO()
    size = 0
    while piece := stream.read(_READ_PIECE):
        if timer is not None:
            timer.cancel()
        size += len(piece)
        if size > MAX_INPUT_BYTES:
            raise UsageError(f"{label} is larger than {MAX_INPUT_BYTES >> 20} MiB, more than "
                             "any model reads; nothing was sent")
        buffer.write(piece)
    return buffer.getvalue()



def gather_messages(opts: InputOptions, streams: Streams) -> list[dict]:
    """The messages from PROMPT words, stdin, -f files, --messages and -s."""
    return build_messages(
        opts.words, read_pieces(opts, streams), opts.system, read_conversation(opts, streams)
    )


def read_pieces(opts: InputOptions, streams: Streams) -> list[Source]:
    """Stdin (when piped and wanted) then each -f file, as raw bytes; `-f -` is stdin there."""
    pieces = []
    explicit = "-" in opts.files
    if opts.files.count("-") > 1:
        raise UsageError("-f - is given more than once; stdin can be read only once")
    if stdin_wanted(opts, streams) and not explicit:
        pieces.append(read_stdin(streams))
    for path in opts.files:
        if path == "-":
            pieces.append(read_stdin(streams))
        else:
            pieces.append(Source(f"file {path}", read_text_file(path, "-f")))
    return pieces


def read_stdin(streams: Streams) -> Source:
    """The whole of stdin, with a note on a terminal stderr if the pipe keeps silent."""
    def note() -> None:
        streams.err(f"orcli: waiting for stdin (nothing has come for {STDIN_NOTE_SECONDS:g} s); "
                    "--no-stdin skips it")

    waiting = note if streams.stderr_isatty else None
    return Source(STDIN, read_capped(streams.stdin, "stdin", waiting))


def stdin_wanted(opts: InputOptions, streams: Streams) -> bool:
    """Stdin is read when piped, unless --no-stdin or --messages takes its place."""
    return not (opts.no_stdin or streams.stdin_isatty or opts.messages_path is not None)


def read_conversation(opts: InputOptions, streams: Streams) -> Source | None:
    """The --messages file (or stdin for '-'), unparsed."""
    if opts.messages_path is None:
        return None
    if opts.messages_path == "-":
        return Source("--messages (stdin)", read_capped(streams.stdin, "--messages (stdin)"))
    return Source(f"--messages file {opts.messages_path}",
                  read_text_file(opts.messages_path, "--messages"))


def read_text_file(path: str, flag: str) -> bytes:
    """A file's bytes, or exit 2 saying which flag's file could not be read."""
    try:
        with Path(path).open("rb") as file:
            return read_capped(file, f"{flag} {path}")
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot read it ({exc.strerror})") from None


def read_flag_text(path: str, flag: str) -> str:
    """The text of a file a flag names (--schema, --tools): strict UTF-8, or exit 2."""
    return decode_input(Source(f"{flag} file {path}", read_text_file(path, flag)))


def read_body_files(opts: BodyOptions) -> BodyFiles:
    """The texts of --schema (inline JSON or a file) and --tools, read once, nothing changed."""
    schema, name = (None, "response") if opts.schema is None else read_schema(opts.schema)
    tools = None if opts.tools is None else read_flag_text(opts.tools, "--tools")
    return BodyFiles(schema=schema, schema_name=name, tools=tools)


def read_schema(value: str) -> tuple[str, str]:
    """--schema takes inline JSON or a path; the schema's name comes from its file or title."""
    if value.lstrip().startswith("{"):
        return value, _schema_title(value) or "response"
    text = read_flag_text(value, "--schema")
    return text, _schema_title(text) or Path(value).stem


def _schema_title(text: str) -> str | None:
    import json

    try:
        title = json.loads(text).get("title")
    except (ValueError, AttributeError, RecursionError):
        return None
    return title if isinstance(title, str) else None
