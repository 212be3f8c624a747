"""JSONL in and out for `orcli batch`: the input's lines, the output file, resuming.

Each output line goes out in one `os.write` of the whole line (a loop only if the
system takes part of it, as a pipe may), so a run killed at any moment leaves
at most its last line torn, and `drop_torn_tail` removes that before a resume.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from orcli.errors import OrcliError, UsageError
from orcli.io.inputs import MAX_INPUT_BYTES
from orcli.models.pricing import dumps_json
from orcli.request.batch_rows import Row
from orcli.response.result import Result


def iter_lines(stream: BinaryIO, label: str) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, line bytes) for each non-blank line; blank lines are counted."""
    total = 0
    for number, line in enumerate(stream, 1):
        total += len(line)
        if total > MAX_INPUT_BYTES:
            raise UsageError(f"{label} is larger than {MAX_INPUT_BYTES >> 20} MiB; "
                             "split it (--shard) or pass a smaller file; nothing was sent")
        if line.strip():
            yield number, line


def open_input(path: str | None) -> BinaryIO | None:
    """The input file, or None for stdin (no path, or '-'); exit 2 when it cannot be read."""
    if path in (None, "-"):
        return None
    try:
        return Path(path).open("rb")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror})") from None


def drop_torn_tail(path: Path) -> None:
    """Cut the file back to its last newline: a killed run's half-written last line."""
    with path.open("rb+") as file:
        size = file.seek(0, os.SEEK_END)
        if size == 0:
            return
        end = size
        while end > 0:
            step = min(65536, end)
            file.seek(end - step)
            block = file.read(step)
            cut = block.rfind(b"\n")
            if cut >= 0:
                end = end - step + cut + 1
                break
            end -= step
        if end != size:
            file.truncate(end)


def done_ids(path: Path) -> set[str]:
    """Ids that already have a success line (`"error": null`) in an output file."""
    done: set[str] = set()
    with path.open("rb") as file:
        for line in file:
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                continue  # not one of ours: leave it, resend its row
            if isinstance(record, dict) and record.get("error", 1) is None \
                    and isinstance(record.get("id"), str):
                done.add(record["id"])
    return done


def prepare_resume(path: Path) -> set[str]:
    """For -o FILE: drop a torn last line, then the ids already done; empty when no FILE."""
    if not path.is_file():
        return set()  # none yet, or a pipe or device (-o /dev/stdout): nothing to resume
    try:
        drop_torn_tail(path)
        return done_ids(path)
    except OSError as exc:
        raise UsageError(f"-o {path}: cannot read it to resume ({exc.strerror})") from None


class LineWriter:
    """Whole lines to a file descriptor (appending to -o FILE), or to a buffer in tests."""

    def __init__(self, stream: BinaryIO, fd: int | None, owned: bool = False) -> None:
        self.stream = stream
        self.fd = fd
        self.owned = owned

    @classmethod
    def to_file(cls, path: Path) -> LineWriter:
        """Append to path, creating it; exit 2 when it cannot be opened."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UsageError(f"-o {path}: cannot write it ({exc.strerror})") from None
        return cls(os.fdopen(fd, "ab", buffering=0), fd, owned=True)

    @classmethod
    def to_stream(cls, stream: BinaryIO) -> LineWriter:
        """Write to stdout: through its descriptor when it has one, so nothing is buffered."""
        try:
            stream.flush()
            fd: int | None = stream.fileno()
        except (AttributeError, OSError, ValueError):
            fd = None  # an in-memory buffer
        return cls(stream, fd)

    def write(self, line: bytes) -> None:
        """One whole line, in one write unless the system takes only part of it."""
        if self.fd is None:
            self.stream.write(line)
            self.stream.flush()
            return
        view = memoryview(line)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def close(self) -> None:
        if self.owned:
            self.stream.close()


def success_line(row: Row, result: Result, cost: Decimal | None) -> bytes:
    """A finished row's output line; `tool_calls` only when the answer is tool calls."""
    usage = result.usage
    record: dict[str, Any] = {
        "id": row.id, "line": row.line, "model": result.model, "text": result.text,
        "finish_reason": result.finish_reason,
        "usage": {"prompt_tokens": usage.prompt_tokens if usage else None,
                  "completion_tokens": usage.completion_tokens if usage else None,
                  "cost": cost},
        "generation_id": result.id, "error": None,
    }
    if result.tool_calls:
        record["tool_calls"] = result.tool_call_dicts()
    return dumps_json(record).encode("utf-8") + b"\n"


def failure_line(row: Row, error: OrcliError) -> bytes:
    """A failed row's output line: its exit code, HTTP status (or null) and message."""
    record = {"id": row.id, "line": row.line, "error": {
        "exit_code": int(error.status), "http_status": getattr(error, "http_status", None),
        "message": error.message}}
    return dumps_json(record).encode("utf-8") + b"\n"
