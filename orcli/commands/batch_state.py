"""The state of an `orcli batch` run: the adaptive limit, the tally, the output order.

Pure bookkeeping, used by the scheduler on the main thread only; the clock is
injected so that tests never wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

from msgspec import Struct, field

from orcli.errors import ExitStatus
from orcli.io.jsonl import LineWriter
from orcli.models.pricing import format_usd


class AdaptiveLimit:
    """How many rows may be in flight: halved on a 429 or Retry-After, +1 per 10 successes.

    Requests started before a halving that come back rate limited too do not halve
    it again (the epoch tells them apart), so one burst of 429s halves it once.
    """

    GROW_EVERY = 10

    def __init__(self, most: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.most = most
        self.limit = most
        self.in_flight = 0
        self.epoch = 0
        self.clock = clock
        self._paused_until = 0.0
        self._successes = 0

    def pause_left(self) -> float:
        """Seconds until rows may start again (0 when not paused)."""
        return max(0.0, self._paused_until - self.clock())

    def can_start(self) -> bool:
        return self.in_flight < self.limit and self.pause_left() <= 0

    def started(self) -> int:
        """Count a row in flight; returns the epoch it started in."""
        self.in_flight += 1
        return self.epoch

    def finished(self, ok: bool) -> None:
        self.in_flight -= 1
        if not ok:
            return
        self._successes += 1
        if self._successes >= self.GROW_EVERY:
            self._successes = 0
            self.limit = min(self.most, self.limit + 1)

    def slow_down(self, wait: float, epoch: int) -> None:
        """Pause every start for `wait` seconds; halve the limit once per epoch."""
        self._paused_until = max(self._paused_until, self.clock() + wait)
        if epoch == self.epoch:
            self.limit = max(1, self.limit // 2)
            self.epoch += 1
            self._successes = 0


class Tally(Struct):
    """What the summary line and the exit code say."""

    ok: int = 0
    failed: int = 0
    skipped: int = 0
    unsent: int = 0
    budget_unsent: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: Decimal = Decimal(0)  # for the budget: an unknown cost counts its worst case
    known_cost: Decimal = Decimal(0)  # what the summary adds up
    unknown_costs: int = 0  # answered rows whose cost is unknown
    fatal: ExitStatus | None = None

    def summary(self) -> str:
        return (f"orcli: batch: {self.ok} ok, {self.failed} failed, {self.skipped} skipped, "
                f"{self.unsent} unsent; {self.tokens_in} in, {self.tokens_out} out tokens, "
                f"{self.cost_text()}")

    def cost_text(self) -> str:
        """The known cost; never $0.00 for rows whose cost nobody knows."""
        if not self.unknown_costs:
            return format_usd(self.known_cost)
        if self.unknown_costs == self.ok:
            return "cost unknown"
        return f"{format_usd(self.known_cost)} + {self.unknown_costs} of unknown cost"

    def exit_status(self) -> ExitStatus:
        if self.fatal is not None:
            return self.fatal
        if self.budget_unsent:
            return ExitStatus.GUARD
        return ExitStatus.BATCH_FAILED if self.failed else ExitStatus.OK


class Output(Struct):
    """Writes each finished row's line: at once, or (--ordered) in input order."""

    writer: LineWriter
    ordered: bool
    held: dict[int, bytes | None] = field(default_factory=dict)
    next_pos: int = 0

    def resolve(self, pos: int, line: bytes | None) -> None:
        """Row `pos` is over: `line` is its output, None when it has none (unsent)."""
        if not self.ordered:
            if line is not None:
                self.writer.write(line)
            return
        self.held[pos] = line
        while self.next_pos in self.held:
            ready = self.held.pop(self.next_pos)
            if ready is not None:
                self.writer.write(ready)
            self.next_pos += 1

    def flush_held(self) -> None:
        """What finished beyond a gap, in order, when the run stops early."""
        for pos in sorted(self.held):
            ready = self.held.pop(pos)
            if ready is not None:
                self.writer.write(ready)
