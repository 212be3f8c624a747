"""The progress bar of `orcli batch`; rich is imported only to draw one on a terminal."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orcli.models.pricing import format_usd
from orcli.render.iostreams import Streams


class _QuietProgress:
    """No bar (stderr is not a terminal): lines still go to stderr."""
class _QuietProgress:
    """No bar (stderr is not a terminal): lines still go to stderr."""

    def __init__(self, streams: Streams) -> None:
        self.line = streams.err

    def update(self, ok: int, failed: int, cost: Decimal) -> None:
        pass

    def stop(self) -> None:
        pass


class _BatchBar:
    """rich's progress bar for `orcli batch`: done/total, failed, cost so far, rate, time left."""

    def __init__(self, streams: Streams, total: int) -> None:
        import time

        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        console = Console(file=_TextStderr(streams), force_terminal=True,
                          no_color=not streams.stderr_color, markup=False, emoji=False,
                          highlight=False, _environ=dict(streams.env))
        self._progress = Progress(
            BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[failed]} failed"),
            TextColumn("{task.fields[cost]}"), TextColumn("{task.fields[rate]}/s"),
            TimeRemainingColumn(), console=console, transient=True)
        self._task = self._progress.add_task("batch", total=total, failed=0,
                                             cost=format_usd(Decimal(0)), rate="0.0")
        self._started = time.monotonic()
        self._clock = time.monotonic
        self._progress.start()

    def line(self, text: str) -> None:
        self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def update(self, ok: int, failed: int, cost: Decimal) -> None:
        rate = (ok + failed) / max(self._clock() - self._started, 1e-6)
        self._progress.update(self._task, completed=ok + failed, failed=failed,
                              cost=format_usd(cost), rate=f"{rate:.1f}")

    def stop(self) -> None:
        self._progress.stop()


class _TextStderr:
    """The binary stderr as the text file rich's Console writes to."""

    def __init__(self, streams: Streams) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        self.streams.stderr.write(text.encode("utf-8", "replace"))
        return len(text)

    def flush(self) -> None:
        self.streams.stderr.flush()

    def isatty(self) -> bool:
        return True


def batch_progress(streams: Streams, total: int) -> Any:
    """A progress bar on a terminal stderr; elsewhere an object that only passes lines on.

    Either has `line(text)` (from any thread), `update(ok, failed, cost)` and `stop()`.
    """
    if not streams.stderr_isatty:
        return _QuietProgress(streams)
    return _BatchBar(streams, total)
