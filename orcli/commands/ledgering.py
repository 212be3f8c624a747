"""The ledger's part in a command run: budgets before sending, one record per answered call.

Opening the ledger costs nothing until it is used; a call with no budget set
touches it only once, to write its record after the answer was printed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from msgspec import Struct

from orcli.errors import GuardError, OrcliError
from orcli.models.pricing import format_usd
from orcli.render.iostreams import Streams
from orcli.response.result import Result
from orcli.store.config import Settings

if TYPE_CHECKING:
    from orcli.models.calibration import Calibration
    from orcli.models.pricing import ModelPrices
    from orcli.request.guards import Guarded
    from orcli.store.budget import BudgetState
    from orcli.store.ledger import Ledger


class CallLog(Struct):
    """The ledger of this run (None when off), its tags, and the budgets it keeps."""

    ledger: Ledger | None
    tags: Mapping[str, str]
    budget: BudgetState | None
    settings: Settings
    command: str
    env: Mapping[str, str]

    @classmethod
    def open(cls, settings: Settings, streams: Streams, command: str, tags: Sequence[str] = (),
             no_ledger: bool = False) -> CallLog:
        """The ledger as the settings, ORCLI_LEDGER and --no-ledger say; budgets read from it."""
        from orcli.store.budget import budget_state
        from orcli.store.ledger import open_ledger
        from orcli.store.ledger_report import parse_tags

        ledger = open_ledger(streams.env, settings.ledger and not no_ledger, streams.err)
        budget = budget_state(settings.budget_daily, settings.budget_monthly, ledger)
        return cls(ledger, parse_tags(tags, streams.env), budget, settings, command, streams.env)

    def cap(self, max_cost: Decimal | None) -> Decimal | None:
        """The budget the --max-cost guard keeps: --max-cost or what the budgets leave."""
        from orcli.store.budget import budget_cap

        return budget_cap(max_cost, self.budget)

    def check(self, worst_case: Decimal | None) -> None:
        """Exit 8 when the day's or month's spend plus this worst case passes a budget."""
        if self.budget is not None:
            self.budget.check(worst_case)

    def budget_refusal(self, exc: GuardError, max_cost: Decimal | None) -> GuardError:
        """A --max-cost refusal reworded when the cap it hit was a budget's, not --max-cost."""
        left = self.budget.remaining if self.budget is not None else None
        if left is None or (max_cost is not None and max_cost <= left):
            return exc
        return GuardError(f"this request's worst case is more than the "
                          f"{format_usd(max(left, Decimal(0)))} that budget_daily/budget_monthly "
                          "leave; nothing was sent")

    def calibration(self, model: str) -> Calibration | None:
        """The calibration of a model counted by estimate, from its last billed calls."""
        return ledger_calibration(self.ledger, model)

    def record(self, result: Result | None, guarded: Guarded | None, started: float,
               exit_code: int, *, row_id: str | None = None, batch_id: str | None = None,
               partial: Result | None = None) -> None:
        """One record of an answered call; never raises (the ledger warns once instead)."""
        if self.ledger is None:
            return
        from orcli.store.ledger_record import record_from_result

        body = guarded.body if guarded else {}
        cut = partial is not None
        counted, kind = _own_count(guarded, result, cut) if cut or self._count_teaches(
            guarded, result) else (None, None)
        self.ledger.record(record_from_result(
            result, command=self.command, base_url=self.settings.base_url,
            model_asked=str(body.get("model") or self.settings.model), exit_code=exit_code,
            prices=_prices_of(result or partial, self.settings, self.env), duration_ms=int(
                (time.monotonic() - started) * 1000),
            worst_case=guarded.worst_case if guarded else None, tags=self.tags,
            batch_id=batch_id, row_id=row_id, counted_prompt_tokens=counted, count_kind=kind,
            generation_id=partial.id if partial else None,
            model_served=partial.model if partial else None,
            provider=partial.provider if partial else None,
            partial_completion_tokens=_partial_tokens(partial)))


    def _count_teaches(self, guarded: Guarded | None, result: Result | None) -> bool:
        """Whether counting this answered call's prompt is worth its cost to the calibration.

        The count is free when the guards made it or this process has the vocabulary
        (a batch); otherwise it costs the vocabulary's load, about 0.2 s and 50 MB,
        after the answer. So a model whose calibration is full (its last 20 usable
        calls) is counted again once every REFRESH_EVERY calls: the window still
        moves with the model, at a tenth of the cost.
        """
        if guarded is None or result is None or self.ledger is None:
            return True
        from orcli.models.tekken import vocabulary_loaded
        from orcli.models.tokens import uses_tekken

        if uses_tekken(guarded.prompt.model) or guarded.prompt.counted or vocabulary_loaded():
            return True  # an exact count is recorded as such, uncounted
        from orcli.models.calibration import CALLS_USED

        served = result.model or guarded.prompt.model
        if served != guarded.prompt.model and uses_tekken(served):
            return False  # served by a model counted exactly: no calibration to teach
        calibration = (guarded.prompt.calibration if served == guarded.prompt.model
                       else ledger_calibration(self.ledger, served))
        if calibration is None or calibration.calls < CALLS_USED:
            return True
        try:
            return calls_since_counted(self.ledger, served) >= REFRESH_EVERY - 1
        except OrcliError:
            return False


# A model whose calibration is full is counted again once in this many calls.
REFRESH_EVERY = 10


def calls_since_counted(ledger: Ledger, model: str) -> int:
    """The model's records since the newest one orcli counted by estimate."""
    ((calls,),) = ledger.query(
        "SELECT count(*) FROM record WHERE model_served = ?1 AND id > coalesce(("
        "SELECT max(id) FROM record WHERE model_served = ?1 AND count_kind = 'estimate' "
        "AND counted_prompt_tokens > 0), 0)", (model,))
    return int(calls)


def ledger_calibration(ledger: Ledger | None, model: str) -> Calibration | None:
    """A model's calibration from the ledger; None for exact models, or without billed calls.

    Best effort: a ledger that cannot be read leaves the estimate as it is.
    """
    from orcli.models.tokens import uses_tekken

    if ledger is None or uses_tekken(model):
        return None
    from orcli.models.calibration import calibrate

    try:
        return calibrate(calibration_pairs(ledger, model))
    except OrcliError:
        return None


def calibration_pairs(ledger: Ledger, model: str) -> list[tuple[int, int]]:
    """(orcli's count, billed prompt_tokens) of the model's estimated calls, newest first."""
    rows = ledger.query(
        "SELECT counted_prompt_tokens, prompt_tokens FROM record WHERE model_served = ? "
        "AND count_kind = 'estimate' AND counted_prompt_tokens > 0 AND prompt_tokens > 0 "
        "ORDER BY time DESC LIMIT 200", (model,))
    return [(int(a), int(b)) for a, b in rows]


# Prompts are counted after the answer only up to this bound (about 1 MB of text):
# calibration learns as well from small calls, and counting 30 MB takes seconds.
_LARGEST_COUNTED = 300_000


def _own_count(guarded: Guarded | None, result: Result | None,
               cut: bool) -> tuple[int | None, str | None]:
    """orcli's count of the prompt: for calibration, or to estimate a cut stream's cost.

    Exact counts need no calibration, and counting costs the vocabulary's load,
    so after an answer it is done only when the call can teach something.
    """
    if guarded is None or not (cut or (result is not None and result.usage is not None)):
        return None, None
    from orcli.models.tokens import uses_tekken

    if not cut and uses_tekken(guarded.prompt.model):
        return None, "exact"
    bound = guarded.prompt.upper_bound()
    if bound is None or bound > _LARGEST_COUNTED:
        return None, None  # a huge prompt would cost seconds to count after its answer
    try:
        counted = guarded.prompt.raw_count()  # the calibration is of this one
    except OrcliError:
        return None, None
    if not counted.complete:
        return None, None
    return counted.tokens, "exact" if counted.exact else "estimate"


def _partial_tokens(partial: Result | None) -> int | None:
    """Tokens of the text a cut stream printed, as orcli counts them (an estimate)."""
    if partial is None:
        return None
    from orcli.models.tekken import count_text

    return count_text(partial.text + partial.reasoning)


def _prices_of(result: Result | None, settings: Settings,
               env: Mapping[str, str]) -> ModelPrices | None:
    """The served model's prices, built in or cached, for an estimated cost."""
    if result is None or not result.model:
        return None
    from orcli.commands.lookup import known_prices

    return known_prices(result.model, settings, env)
