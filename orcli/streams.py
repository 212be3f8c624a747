"""The process's standard streams, TTY flags and environment, in one object.

Commands never touch `sys.stdin`/`sys.stdout`/`os.environ` directly; they get a
`Streams`, so tests can build one over byte buffers (`Streams.for_test`).
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO


@dataclass
class Streams:
    stdin: BinaryIO
    stdout: BinaryIO
    stderr: BinaryIO
    stdin_isatty: bool = False
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_process(cls) -> Streams:
        """The real stdin/stdout/stderr (binary) and os.environ."""
        return cls(
            stdin=sys.stdin.buffer if sys.stdin else io.BytesIO(),
            stdout=sys.stdout.buffer,
            stderr=sys.stderr.buffer,
            stdin_isatty=_isatty(sys.stdin),
            stdout_isatty=_isatty(sys.stdout),
            stderr_isatty=_isatty(sys.stderr),
            env=os.environ,
        )

    @classmethod
    def for_test(
        cls,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        tty: bool = False,
    ) -> Streams:
        """Byte buffers in place of the process streams; stdin=None acts as a terminal."""
        return cls(
            stdin=io.BytesIO(stdin or b""),
            stdout=io.BytesIO(),
            stderr=io.BytesIO(),
            stdin_isatty=stdin is None,
            stdout_isatty=tty,
            stderr_isatty=tty,
            env=dict(env or {}),
        )

    def out(self, text: str, flush: bool = False) -> None:
        """Write text to stdout as UTF-8, whatever the locale says."""
        self.stdout.write(text.encode("utf-8"))
        if flush:
            self.stdout.flush()

    def err(self, line: str) -> None:
        """Write one line to stderr and flush it at once."""
        self.stderr.write((line + "\n").encode("utf-8", "replace"))
        self.stderr.flush()

    @property
    def color(self) -> bool:
        """Colour on stderr/stdout only for a terminal, and never under NO_COLOR."""
        if self.env.get("NO_COLOR"):
            return False
        return self.stdout_isatty or bool(self.env.get("FORCE_COLOR"))


def _isatty(stream: object) -> bool:
    try:
        return bool(stream and stream.isatty())  # type: ignore[attr-defined]
    except (ValueError, OSError):
        return False
