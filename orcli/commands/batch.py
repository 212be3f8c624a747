"""`orcli batch`: many requests from JSONL, concurrent, resumable, within one budget.

The main thread alone schedules, counts money and writes output; worker threads
only send (each with its own Client, so each keeps its connection). That keeps
the budget rule simple to hold: a row starts only when what was billed, plus the
worst case of every row in flight, plus its own worst case fits.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msgspec import Struct
from msgspec.structs import replace

from orcli.commands.batch_plan import (
    BatchOptions,
    Plan,
    bound_worst_case,
    exact_worst_case,
    make_plan,
    result_cost,
)
from orcli.commands.batch_state import AdaptiveLimit, Output, Tally
from orcli.errors import ApiError, ConfigError, ExitStatus, OrcliError, UpstreamError
from orcli.io.jsonl import LineWriter, failure_line, success_line
from orcli.models.pricing import format_usd
from orcli.render.iostreams import Streams
from orcli.render.progress import batch_progress
from orcli.request import routing
from orcli.request.batch_rows import Row
from orcli.request.guards import row_context_refusal
from orcli.response.result import Result, result_from_answer
from orcli.store.config import load_settings

__all__ = ["AdaptiveLimit", "BatchOptions", "RowOutcome", "run_batch"]

FATAL = frozenset({ExitStatus.CONFIG, ExitStatus.PAYMENT})  # they would fail every row
DEFAULT_PAUSE = 1.0  # seconds, for a 429 that says nothing about when to come back
LONGEST_PAUSE = 60.0  # a longer Retry-After fails the row with exit 6 (the client says so)


class RowOutcome(Struct, frozen=True):
    """One finished row, for the ledger: exactly one of result and error is set."""

    batch_id: str
    row_id: str
    line: int
    model_asked: str
    result: Result | None
    error: OrcliError | None
    worst_case: Decimal | None
    seconds: float


if TYPE_CHECKING:
    from orcli.commands.ledgering import CallLog

RowHook = Callable[[RowOutcome], None]


def run_batch(opts: BatchOptions, streams: Streams, on_row: RowHook | None = None) -> int:
    """Read and check every row, then send them (or print them for --dry-run).

    The daily and monthly budgets are kept as --max-cost is: the run may spend what
    is left of them, so each row starts only while the period's spend stays inside.
    """
    from orcli.commands.ledgering import CallLog

    settings = load_settings(opts.settings_flags, streams.env, streams.err)
    log = CallLog.open(settings, streams, "batch", opts.tags, opts.no_ledger)
    cap = log.cap(opts.max_cost)
    if cap != opts.max_cost:
        opts = replace(opts, max_cost=cap)
    plan = make_plan(opts, streams)
    if opts.dry_run:
        return dry_run(plan, streams)
    return Run(plan, opts, streams, on_row, log).execute()


def dry_run(plan: Plan, streams: Streams) -> int:
    """The bodies on stdout, one per line; the worst-case total on stderr."""
    writer = LineWriter.to_stream(streams.stdout)
    for row in plan.rows:
        writer.write(row.body + b"\n")
    total: Decimal | None = None
    if all("max_tokens" in row.body_dict() for row in plan.rows):
        worst = (exact_worst_case(row.body_dict(), plan.prices) for row in plan.rows)
        total = sum((w for w in worst if w is not None), Decimal(0))
    shown = "unbounded (some rows have no max_tokens)" if total is None else format_usd(total)
    streams.err(f"orcli: batch: dry run: {len(plan.rows)} rows, {plan.skipped} skipped; "
                f"worst case {shown}")
    return ExitStatus.OK


class Run:
    """One batch run: the scheduler loop on the main thread, the senders on workers."""

    def __init__(self, plan: Plan, opts: BatchOptions, streams: Streams,
                 on_row: RowHook | None, log: CallLog) -> None:
        self.plan, self.opts, self.streams, self.on_row = plan, opts, streams, on_row
        self.batch_id = uuid.uuid4().hex
        self.pending: deque[tuple[int, Row]] = deque(enumerate(plan.rows))
        self.in_flight: dict[int, Decimal] = {}  # position -> worst case (0 without a budget)
        self.limit = AdaptiveLimit(min(opts.concurrency, max(1, len(plan.rows))))
        self.tally = Tally(skipped=plan.skipped)
        self.events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self.work: queue.SimpleQueue[tuple[int, Row, int, Decimal] | None] = queue.SimpleQueue()
        self.log = log
        self.stopping = False
        self.exact_worst: dict[int, Decimal] = {}  # the waiting row's exact worst case
        self.progress = batch_progress(streams, len(plan.rows))
        path = Path(opts.output) if opts.output else None
        writer = LineWriter.to_file(path) if path else LineWriter.to_stream(streams.stdout)
        self.output = Output(writer, opts.ordered)

    def execute(self) -> int:
        if not self.key_ready():
            return self.tally.exit_status()
        workers = [threading.Thread(target=self.worker, daemon=True, name=f"orcli-batch-{i}")
                   for i in range(self.limit.most)]
        for thread in workers:
            thread.start()
        try:
            self.loop()
        except KeyboardInterrupt:
            self.finish(interrupted=True)
            raise
        for _ in workers:
            self.work.put(None)
        self.finish(interrupted=False)
        return self.tally.exit_status()

    def key_ready(self) -> bool:
        """No key where one is needed fails every row: say so once, send nothing."""
        from orcli.http.client import build_headers

        try:
            if self.pending:
                build_headers(self.plan.settings)
        except ConfigError as exc:
            self.streams.err(f"orcli: error: {exc.message}")
            self.tally.fatal = ExitStatus.CONFIG
            self.finish(interrupted=False)
            return False
        return True

    def loop(self) -> None:
        while self.in_flight or (self.pending and not self.stopping):
            self.start_rows()
            if not self.in_flight and not (self.pending and self.limit.pause_left()):
                continue  # everything started has finished, or nothing can start
            wait = self.limit.pause_left() if self.pending and not self.stopping else 0.0
            try:
                # A short timeout keeps Ctrl-C prompt and ends pauses on time.
                event = self.events.get(timeout=min(wait, 0.5) if wait else 0.5)
            except queue.Empty:
                continue
            self.handle(event)

    def start_rows(self) -> None:
        budget = self.opts.max_cost
        while self.pending and not self.stopping and self.limit.can_start():
            pos, row = self.pending[0]
            worst = Decimal(0)
            if budget is not None:
                room = budget - self.tally.cost - sum(self.in_flight.values())
                fits = self.worst_case_within(pos, row, room)
                if fits is None:
                    if self.in_flight:
                        return  # wait: what finishes frees its worst case
                    self.pending.popleft()
                    self.tally.unsent += 1
                    self.tally.budget_unsent += 1
                    self.output.resolve(pos, None)
                    continue
                worst = fits
            self.pending.popleft()
            self.in_flight[pos] = worst
            self.work.put((pos, row, self.limit.started(), worst))

    def worst_case_within(self, pos: int, row: Row, room: Decimal) -> Decimal | None:
        """The row's worst case when it fits in `room`, else None.

        A row waiting for room is looked at again after every answer, so its exact
        count is made once, and only when the cheap bound does not fit.
        """
        if pos not in self.exact_worst:
            bound = bound_worst_case(row.body_dict(), self.plan.prices)
            if bound is not None and bound <= room:
                return bound
            exact = exact_worst_case(row.body_dict(), self.plan.prices)
            self.exact_worst = {pos: exact if exact is not None else Decimal(0)}
        return self.exact_worst[pos] if self.exact_worst[pos] <= room else None

    def worker(self) -> None:
        from orcli.app import client_for

        epoch = [0]

        def slowed(failure: Any) -> None:
            self.events.put(("slow", failure.error.status, failure.wait, epoch[0]))

        client = client_for(self.streams, self.plan.settings, notify=self.progress.line,
                            debug=self.progress.line if self.opts.debug else None,
                            on_retryable=slowed)
        headers = routing.request_headers(self.opts.routing)  # --cache, --cache-ttl
        while (item := self.work.get()) is not None:
            pos, row, epoch[0], worst = item
            started = time.monotonic()
            # A row longer than its model's context fails here, unsent, as chat exits 8.
            body = row.body_dict()
            outcome = row_context_refusal(body, self.plan.contexts) or send_row(
                client, body, headers)
            self.record(row, outcome, worst, started)  # here: the ledger is thread-safe
            self.events.put(("done", pos, row, outcome, time.monotonic() - started))
        client.session.close()

    def record(self, row: Row, outcome: Result | OrcliError, worst: Decimal,
               started: float) -> None:
        """The row's ledger record, when the API answered it (a success or an error reply)."""
        if self.log.ledger is None or not isinstance(outcome, (Result, ApiError)):
            return
        from orcli.request.guards import Guarded, PromptSize

        body = row.body_dict()
        prompt = PromptSize(str(body["model"]), body.get("messages") or [], body.get("tools"))
        guarded = Guarded(body, worst if self.opts.max_cost is not None else None, prompt)
        result = outcome if isinstance(outcome, Result) else None
        code = ExitStatus.OK if result is not None else outcome.status
        self.log.record(result, guarded, started, code, row_id=row.id, batch_id=self.batch_id)

    def handle(self, event: tuple[Any, ...]) -> None:
        if event[0] == "slow":
            _, status, wait, epoch = event
            if status == ExitStatus.RATE_LIMITED or wait is not None:
                pause = DEFAULT_PAUSE if wait is None else min(wait, LONGEST_PAUSE)
                self.limit.slow_down(pause, epoch)
            return
        _, pos, row, outcome, seconds = event
        worst = self.in_flight.pop(pos)
        self.limit.finished(isinstance(outcome, Result))
        if isinstance(outcome, Result):
            line = self.count_success(row, outcome, worst)
        else:
            line = self.count_failure(row, outcome, worst)
        self.output.resolve(pos, line)
        self.progress.update(self.tally.ok, self.tally.failed, self.tally.cost)
        if self.on_row is not None:
            result = outcome if isinstance(outcome, Result) else None
            error = None if result is not None else outcome
            model = str(row.body_dict().get("model"))
            self.on_row(RowOutcome(self.batch_id, row.id, row.line, model, result, error,
                                   worst if self.opts.max_cost is not None else None, seconds))

    def count_success(self, row: Row, result: Result, worst: Decimal) -> bytes:
        self.tally.ok += 1
        cost = result_cost(result, row, self.plan)
        if result.usage is not None:
            self.tally.tokens_in += result.usage.prompt_tokens
            self.tally.tokens_out += result.usage.completion_tokens
        # Unknown cost: the worst case stands in, so the budget still holds.
        self.tally.cost += cost if cost is not None else worst
        if cost is None:
            self.tally.unknown_costs += 1
        else:
            self.tally.known_cost += cost
        return success_line(row, result, cost)

    def count_failure(self, row: Row, error: OrcliError, worst: Decimal) -> bytes:
        self.tally.failed += 1
        if getattr(error, "http_status", None) is None and error.status == ExitStatus.UPSTREAM:
            self.tally.cost += worst  # no answer after sending: it may still be billed
        if error.status in FATAL and self.tally.fatal is None:
            self.tally.fatal = ExitStatus(error.status)
            self.stopping = True
        return failure_line(row, error)

    def finish(self, interrupted: bool) -> None:
        self.stopping = True
        unsent = len(self.pending) + (len(self.in_flight) if interrupted else 0)
        self.tally.unsent += unsent
        for pos, _ in self.pending:
            self.output.resolve(pos, None)
        self.output.flush_held()
        self.progress.stop()
        self.output.writer.close()
        if self.tally.budget_unsent:
            budget = format_usd(self.opts.max_cost or Decimal(0))
            self.streams.err(f"orcli: batch: {self.tally.budget_unsent} rows left unsent: they "
                             f"would pass the budget of {budget}; rerun with a larger one")
        self.streams.err(self.tally.summary())


def send_row(client: Any, body: dict[str, Any], headers: dict[str, str]
             ) -> Result | OrcliError:
    """POST one row's body; its Result, or the error it ended with (never raised)."""
    try:
        reply = client.chat(body, headers=headers)
        result = result_from_answer(reply.answer, reply.cache_status)
        if result.finish_reason == "error":
            raise UpstreamError("the provider ended the answer with finish_reason \"error\"")
        return result
    except OrcliError as exc:
        return exc
    except Exception as exc:  # a bug met by one row must not lose the others' answers
        return OrcliError(f"internal error: {type(exc).__name__}: {exc}")
