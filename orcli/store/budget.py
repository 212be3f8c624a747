"""Budgets across calls: `budget_daily` and `budget_monthly`, kept with the ledger.

The integrator's order before sending a request:
    state = budget_state(settings.budget_daily, settings.budget_monthly, ledger, now)
    cap = budget_cap(opts.max_cost, state)       # give the --max-cost guard this cap
    ... the guard fits max_tokens to `cap` and computes the worst case ...
    if state: state.check(worst_case)            # GuardError (exit 8) naming the budget
Billed and estimated costs count; unknown costs cannot, and count as 0.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from msgspec import Struct

from orcli.errors import ConfigError, GuardError
from orcli.models.pricing import format_usd
from orcli.store.ledger import Ledger
from orcli.store.ledger_record import utc_text
from orcli.store.ledger_report import sum_costs


class BudgetState(Struct, frozen=True):
    """The budgets set and what the ledger says was spent in this UTC day and month."""

    daily: Decimal | None
    monthly: Decimal | None
    spent_today: Decimal
    spent_this_month: Decimal

    @property
    def remaining(self) -> Decimal | None:
        """The smallest amount left of the budgets set (negative once overspent)."""
        return remaining_budget(self.daily, self.monthly, self.spent_today,
                                self.spent_this_month)

    def check(self, worst_case: Decimal | None) -> None:
        """Refuse (exit 8) when spend plus this request's worst case would pass a budget.

        `worst_case=None` (unbounded: no max_tokens, or a variable price) is refused
        whenever a budget is set, since no promise can be made.
        """
        for name, budget, spent in (("daily", self.daily, self.spent_today),
                                    ("monthly", self.monthly, self.spent_this_month)):
            if budget is None:
                continue
            if worst_case is None:
                raise GuardError(f"budget_{name} is set ({format_usd(budget)}) and this "
                                 "request's cost has no bound; set --max-tokens")
            if spent + worst_case > budget:
                raise GuardError(
                    f"budget_{name}: {format_usd(spent)} spent + up to "
                    f"{format_usd(worst_case)} for this request would pass "
                    f"{format_usd(budget)} (UTC {'day' if name == 'daily' else 'month'}); "
                    "nothing was sent")


def budget_cap(max_cost: Decimal | None, state: BudgetState | None) -> Decimal | None:
    """The cap to fit max_tokens to: the smaller of --max-cost and what the budgets leave.

    Spend plus worst case passing a budget is the worst case passing what is left,
    so the --max-cost guard with this cap fits max_tokens for both; `state.check`
    then refuses with the budget's own message. Never below 0.
    """
    left = state.remaining if state is not None else None
    if left is not None:
        left = max(left, Decimal(0))
    caps = [c for c in (max_cost, left) if c is not None]
    return min(caps) if caps else None


def remaining_budget(daily: Decimal | None, monthly: Decimal | None,
                     spent_today: Decimal, spent_this_month: Decimal) -> Decimal | None:
    """The least left of the daily and monthly budgets; None when neither is set."""
    left = [budget - spent for budget, spent in ((daily, spent_today),
                                                 (monthly, spent_this_month))
            if budget is not None]
    return min(left) if left else None


def period_starts(now: datetime) -> tuple[datetime, datetime]:
    """The start of the UTC day and of the UTC month that `now` is in."""
    now = now.astimezone(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return day, day.replace(day=1)


def spent_since(ledger: Ledger, start: datetime) -> Decimal:
    """Billed plus estimated cost of the records from `start` on."""
    rows = ledger.query("SELECT group_concat(cost, ' ') FROM record WHERE time >= ?",
                        (utc_text(start),))
    return sum_costs(rows[0][0] if rows else None)


def budget_state(daily: Decimal | None, monthly: Decimal | None, ledger: Ledger | None,
                 now: datetime | None = None) -> BudgetState | None:
    """What the budgets allow now; None when none is set. A budget without a ledger: exit 3."""
    if daily is None and monthly is None:
        return None
    if ledger is None:
        raise ConfigError("budget_daily/budget_monthly need the ledger, which is off "
                          "(ORCLI_LEDGER=off, ledger = false or --no-ledger); a budget "
                          "cannot be kept without it")
    day, month = period_starts(now or datetime.now(UTC))
    today = spent_since(ledger, day) if daily is not None else Decimal(0)
    this_month = spent_since(ledger, month) if monthly is not None else Decimal(0)
    return BudgetState(daily, monthly, today, this_month)
