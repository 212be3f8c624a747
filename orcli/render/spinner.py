"""The spinner on stderr while orcli waits for the first byte of an answer.

A thread writing carriage-return frames with one hand-written dim escape: it runs
on every terminal call, so it must not load rich.
"""

from __future__ import annotations

import itertools
import os
import threading

from orcli.render.iostreams import Streams
from orcli.render.text import dim, safe_line

SPINNER_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPINNER_INTERVAL = 0.08  # seconds; the first frame waits this long, so quick answers never flash


class Spinner:
    """A spinner on stderr while orcli waits for the first byte of the answer.

    Does nothing unless `streams.spinner` (stdout and stderr both terminals).
    It draws with a carriage return and erases by overwriting with spaces, so it
    needs no escape codes. `stop()` must come before any output; after it
    returns the spinner never writes again. Lines that must appear while it
    spins (retry notes, --debug) go through `line()`, which erases it first.
    """

    def __init__(self, streams: Streams, label: str) -> None:
        self.streams = streams
        self.label = safe_line(label)
        self._lock = threading.Lock()  # one writer at a time: the spinner or line()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = 0  # characters of the frame on screen; 0 = nothing to erase

    def start(self) -> Spinner:
        if self.streams.spinner and self._thread is None and not self._stopped.is_set():
            self._thread = threading.Thread(target=self._spin, name="orcli-spinner", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Erase the spinner and end its thread; cheap and safe to call again."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        with self._lock:
            self._erase()
        if self._thread is not None:
            self._thread.join()

    def line(self, text: str) -> None:
        """One stderr line that must not run into the spinner's frame."""
        with self._lock:
            self._erase()
            self.streams.err(text)

    def _spin(self) -> None:
        width = _stderr_width(self.streams) - 1  # a full-width line would wrap, and \r with it
        for frame in itertools.cycle(SPINNER_FRAMES):
            if self._stopped.wait(SPINNER_INTERVAL):
                return
            text = f"{frame} {self.label}"[:width]
            with self._lock:
                if self._stopped.is_set():
                    return
                self._write("\r" + dim(text, self.streams.stderr_color))
                self._drawn = len(text)

    def _erase(self) -> None:
        if self._drawn:
            self._write("\r" + " " * self._drawn + "\r")
            self._drawn = 0

    def _write(self, text: str) -> None:
        self.streams.stderr.write(text.encode("utf-8", "replace"))
        self.streams.stderr.flush()


def _stderr_width(streams: Streams) -> int:
    try:
        return os.get_terminal_size(streams.stderr.fileno()).columns or 80
    except (OSError, ValueError, AttributeError):
        return 80
