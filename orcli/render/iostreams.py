"""The process's standard streams, TTY flags and environment, in one object.

Commands never touch `sys.stdin`/`sys.stdout`/`os.environ` directly; they get a
`Streams`, so tests can build one over byte buffers (`Streams.for_test`).

It is also the one place that decides about escape codes, per stream (and
every line written with `err` is made safe, whatever the stream):
NO_COLOR (non-empty) or --no-color: none, anywhere, whatever else is set;
FORCE_COLOR (non-empty): colour on stderr even when it is not a terminal,
never on piped stdout, which is data; TERM=dumb: none; otherwise colour only
on a terminal. The spinner wants stdout and stderr both on a terminal.
"""

from __future__ import annotations

import copy
import errno
import io
import os
import sys
from collections.abc import Mapping
from typing import BinaryIO

from orcli.render.escapes import DIM, RESET, safe_text


class Streams:
    """stdin, stdout and stderr (binary), their TTY flags, the environment and --no-color.

    A plain class, not a Struct: the entry point builds one before anything
    else, and `--version` should not pay for loading msgspec.
    """

    def __init__(self, stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO,
                 stdin_isatty: bool = False, stdout_isatty: bool = False,
                 stderr_isatty: bool = False, env: Mapping[str, str] | None = None,
                 color_off: bool = False, failed: set[str] | None = None) -> None:
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.stdin_isatty = stdin_isatty
        self.stdout_isatty = stdout_isatty
        self.stderr_isatty = stderr_isatty
        self.env: Mapping[str, str] = {} if env is None else env
        self.color_off = color_off  # --no-color
        # The streams that could not be written, shared by every copy (without_color),
        # so the entry point can silence them before the interpreter's final flush.
        self.failed: set[str] = set() if failed is None else failed

    def parts(self) -> dict[str, object]:
        """The arguments that build these streams again (App.around)."""
        return {name: getattr(self, name) for name in (
            "stdin", "stdout", "stderr", "stdin_isatty", "stdout_isatty", "stderr_isatty",
            "env", "color_off", "failed")}

    @classmethod
    def from_process(cls) -> Streams:
        """The real stdin/stdout/stderr (binary) and os.environ."""
        return cls(
            stdin=sys.stdin.buffer if sys.stdin else io.BytesIO(),
            stdout=_buffered(sys.stdout.buffer) if sys.stdout else _Closed(),
            stderr=sys.stderr.buffer if sys.stderr else io.BytesIO(),  # nowhere to tell
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
        """Write text to stdout as UTF-8, whatever the locale says.

        A lone surrogate (a server's "\\ud800" escape) has no UTF-8 form; it is
        written as that escape rather than lost or turned into a crash.
        """
        self.stdout.write(text.encode("utf-8", "backslashreplace"))
        if flush:
            self.stdout.flush()

    def err(self, line: str, dim: bool = False, end: str = "\n") -> None:
        """Write one line (or, with end="", a fragment) to stderr and flush it at once.

        The text is made safe first (`safe_text`), on a pipe too: error messages,
        notes and reasoning carry the server's words, and CI logs show escapes.
        `dim` dims it on a colour stderr. A stderr that cannot be written (a full
        disk, a closed descriptor) is given up on quietly: it only carries
        diagnostics, so it must not change the command's output or exit code.
        """
        text = safe_text(line)
        if dim and text and self.stderr_color:
            text = f"{DIM}{text}{RESET}"
        if "stderr" in self.failed:
            return
        try:
            self.stderr.write((text + end).encode("utf-8", "replace"))
            self.stderr.flush()
        except (OSError, ValueError):
            self.failed.add("stderr")

    def without_color(self, off: bool = True) -> Streams:
        """The same streams with colour turned off (--no-color), or self when `off` is False."""
        if not off:
            return self
        twin = copy.copy(self)  # an App stays an App, with its backoff
        twin.color_off = True
        return twin

    @property
    def stdout_color(self) -> bool:
        """Escape codes on stdout: a terminal only, whatever FORCE_COLOR says.

        Piped stdout is data (the exact answer, tab-separated lines); its bytes
        must not depend on the environment, so FORCE_COLOR does not reach it.
        """
        return self.stdout_isatty and self._color_allowed() and not self._dumb_terminal()

    @property
    def stderr_color(self) -> bool:
        """Escape codes on stderr: a terminal, or FORCE_COLOR (CI logs that show colour)."""
        if not self._color_allowed():
            return False
        if self.env.get("FORCE_COLOR"):
            return True
        return self.stderr_isatty and not self._dumb_terminal()

    @property
    def spinner(self) -> bool:
        """A spinner only when both stdout and stderr are terminals.

        With stdout piped into a pager or another program that draws on the
        same terminal, a spinner on stderr would scribble over its output.
        """
        return self.stdout_isatty and self.stderr_isatty

    def _color_allowed(self) -> bool:
        # NO_COLOR (any non-empty value, no-color.org) and --no-color beat FORCE_COLOR.
        return not (self.color_off or self.env.get("NO_COLOR"))

    def _dumb_terminal(self) -> bool:
        return self.env.get("TERM", "").lower() in ("dumb", "unknown")


def _buffered(stdout: BinaryIO) -> BinaryIO:
    """stdout with a buffer of its own even under PYTHONUNBUFFERED (set in many images).

    orcli flushes once per piece of a stream's body; unbuffered, every write (the
    text of each event, each --jsonl line) would be a system call of its own.
    """
    if isinstance(stdout, io.RawIOBase):
        return io.BufferedWriter(stdout, buffer_size=64 * 1024)
    return stdout


def _isatty(stream: object) -> bool:
    try:
        return bool(stream and stream.isatty())  # type: ignore[attr-defined]
    except (ValueError, OSError):
        return False


class _Closed(io.RawIOBase):
    """Stands in for a stdout the shell closed (`>&-`): writing fails as it would on the fd."""

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))
