"""`-C/--conversation FILE`: a conversation kept in a JSON file, one turn per call.

FILE is a JSON array of messages, the --messages format. While a call runs,
orcli holds a lock on a sidecar file (`FILE.lock`), from before reading FILE
until after replacing it, so two orcli processes on one FILE take turns and
neither loses the other's turn. FILE is only ever replaced whole, by rename, so
a failed, interrupted or killed call leaves it exactly as it was.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from msgspec import Struct

from orcli.errors import UsageError
from orcli.io.inputs import read_capped
from orcli.request.messages import Source, check_messages, decode_input
from orcli.request.payload import parse_json_flag

LOCK_SUFFIX = ".lock"

Notify = Callable[[str], None]


class Conversation(Struct):
    """The messages read from FILE (none when new) and where to write them back."""

    label: str  # "-C FILE" as the user wrote it, for messages
    path: Path  # the real file, symlinks followed, so a link stays a link
    messages: list[dict[str, Any]]
    is_new: bool

    def check_system(self, system: str | None) -> None:
        """-s starts a conversation; an existing one already has its system message."""
        if system is not None and not self.is_new:
            raise UsageError(f"-s applies only to a new conversation; {self.label} already "
                             "exists (edit its first message to change the system prompt)")

    def save(self, *new: dict[str, Any]) -> None:
        """Replace FILE atomically with its messages and `new` appended."""
        messages = [*self.messages, *new]
        text = json.dumps(messages, ensure_ascii=False, indent=2) + "\n"
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate a server sent escaped ("\\udc00")
            data = re.sub("[\ud800-\udfff]", "\ufffd", text).encode("utf-8")
        try:
            replace_atomically(self.path, data)
        except OSError as exc:
            raise UsageError(f"{self.label}: cannot save it ({exc.strerror}); it was left as "
                             "it was, without this turn") from None
        self.messages, self.is_new = messages, False


@contextmanager
def open_conversation(path: str, waiting: Notify | None = None) -> Iterator[Conversation]:
    """Lock FILE's sidecar (waiting for another orcli if need be), then read FILE."""
    label = f"-C {path}"
    real = Path(os.path.realpath(path))
    lock = _acquire(real.with_name(real.name + LOCK_SUFFIX), label, waiting)
    try:
        yield read_conversation(real, label)
    finally:
        os.close(lock)  # closing the descriptor releases the flock


def read_conversation(path: Path, label: str) -> Conversation:
    """FILE's messages; a missing or empty file (or `[]`) is a new conversation."""
    try:
        with path.open("rb") as file:
            data = read_capped(file, label)
    except FileNotFoundError:
        return Conversation(label, path, [], True)
    except OSError as exc:
        raise UsageError(f"{label}: cannot read it ({exc.strerror})") from None
    text = decode_input(Source(label, data))
    if not text.strip():
        return Conversation(label, path, [], True)  # `mktemp` made it: start here
    value = parse_json_flag(text, label)
    if value == []:
        return Conversation(label, path, [], True)
    return Conversation(label, path, check_messages(value, label), False)


def _acquire(lock_path: Path, label: str, waiting: Notify | None) -> int:
    # The lock lives beside FILE, not on it: FILE is replaced by rename, and a
    # waiter locking the old inode would then read a file that is already gone.
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise UsageError(f"{label}: cannot create its lock file {lock_path} "
                         f"({exc.strerror}); nothing was sent") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting(f"waiting for another orcli to finish its turn in {label}")
            fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:  # Ctrl-C while waiting, or a file system without locks
        os.close(fd)
        raise
    return fd


def replace_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, and rename it over `path`.

    The new file keeps the old one's permission bits; a new file gets the usual
    ones (0666 less the umask), as a shell redirection would make it.
    """
    mode = _mode_for(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_directory(path.parent)


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; some file systems cannot open a directory.
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
