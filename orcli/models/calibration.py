"""Token counts that learn: scale an estimate by what a model's recent calls were billed.

Pure: the caller passes the pairs (from the ledger), newest first. For a model orcli
cannot count exactly, each finished call gives orcli's own count of the prompt and the
`prompt_tokens` the API billed; the median ratio of the last calls corrects the next
estimate. Exact counts are never calibrated.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from statistics import median

from msgspec import Struct

# Calls whose billed/counted ratio is outside these bounds say more about the call
# (images or files, cached prompts, a provider's own system prompt) than about the
# tokenizer, so they are left out before the last CALLS_USED are taken.
MIN_RATIO = Decimal("0.5")
MAX_RATIO = Decimal("2")
CALLS_USED = 20


class Calibration(Struct, frozen=True):
    """The median billed/counted ratio of a model's last `calls` usable calls."""

    ratio: Decimal
    calls: int


def calibrate(pairs: Iterable[tuple[int, int]]) -> Calibration | None:
    """Median ratio of the newest 20 (counted, billed) pairs within 0.5-2; None without any."""
    ratios: list[Decimal] = []
    for counted, billed in pairs:
        if not _is_count(counted) or not _is_count(billed) or counted == 0:
            continue
        ratio = Decimal(billed) / Decimal(counted)
        if MIN_RATIO <= ratio <= MAX_RATIO:
            ratios.append(ratio)
            if len(ratios) == CALLS_USED:
                break
    if not ratios:
        return None
    return Calibration(median(ratios), len(ratios))


def apply(estimate: int, calibration: Calibration | None) -> int:
    """An estimated count scaled by the calibration, rounded up (a guard must not undercount)."""
    if calibration is None:
        return estimate
    return math.ceil(estimate * calibration.ratio)


def count_label(exact: bool, calibration: Calibration | None) -> str:
    """"exact", "estimate", or "estimate (calibrated on N calls)"."""
    if exact:
        return "exact"
    if calibration is None:
        return "estimate"
    calls = "call" if calibration.calls == 1 else "calls"
    return f"estimate (calibrated on {calibration.calls} {calls})"


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
