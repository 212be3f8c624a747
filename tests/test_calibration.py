"""Calibration math: the median billed/counted ratio of a model's recent calls."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from orcli.commands.price import (
    Estimate,
    PriceOptions,
    estimate,
    no_calibration,
    plain_line,
    table_row,
)
from orcli.models.calibration import Calibration, apply, calibrate, count_label
from orcli.models.pricing import BUILTIN_MODELS, ModelPrices


def test_no_calls_no_calibration() -> None:
    assert calibrate([]) is None
    assert apply(1_000, None) == 1_000


def test_median_of_the_ratios() -> None:
    # Ratios 1.1, 1.3, 1.2: the median is 1.2.
    assert calibrate([(100, 110), (100, 130), (100, 120)]) == Calibration(Decimal("1.2"), 3)
    # An even number of calls: the mean of the middle two.
    assert calibrate([(10, 11), (10, 13)]) == Calibration(Decimal("1.2"), 2)


def test_ratios_outside_half_to_double_are_left_out_before_the_20_are_taken() -> None:
    cached = [(1_000, 100)] * 5  # a cached prompt billed far less: ratio 0.1
    image = [(100, 1_000)] * 5  # an image billed far more: ratio 10
    newest = [(100, 150)] * 20
    older = [(100, 110)] * 30
    assert calibrate(cached + image + newest + older) == Calibration(Decimal("1.5"), 20)


def test_the_bounds_themselves_are_kept() -> None:
    assert calibrate([(100, 50), (100, 200), (100, 49), (100, 201)]) == \
        Calibration(Decimal("1.25"), 2)


def test_only_the_newest_20_count() -> None:
    pairs = [(100, 120)] * 20 + [(100, 190)] * 100
    assert calibrate(pairs) == Calibration(Decimal("1.2"), 20)


def test_unusable_pairs_are_skipped() -> None:
    assert calibrate([(0, 10), (None, 5), (10, True), (-1, 3), (10, 12)]) == \
        Calibration(Decimal("1.2"), 1)  # type: ignore[list-item]


def test_apply_rounds_up() -> None:
    assert apply(1_000, Calibration(Decimal("1.2345"), 4)) == 1_235
    assert apply(3, Calibration(Decimal("0.5"), 1)) == 2


@given(st.lists(st.tuples(st.integers(1, 10**6), st.integers(0, 10**6)), max_size=60))
def test_the_ratio_is_always_within_the_bounds(pairs: list[tuple[int, int]]) -> None:
    found = calibrate(pairs)
    if found is not None:
        assert Decimal("0.5") <= found.ratio <= Decimal("2") and 1 <= found.calls <= 20


def test_labels() -> None:
    assert count_label(True, Calibration(Decimal(2), 5)) == "exact"
    assert count_label(False, None) == "estimate"
    assert count_label(False, Calibration(Decimal(1), 7)) == "estimate (calibrated on 7 calls)"
    assert count_label(False, Calibration(Decimal(1), 1)) == "estimate (calibrated on 1 call)"


# ---- how `orcli price` shows a calibration passed in ----------------------------------

GPT = ModelPrices("openai/gpt-4o", Decimal("0.0000025"), Decimal("0.00001"), 128_000, None)
MESSAGES = [{"role": "user", "content": "The quick brown fox jumps over the lazy dog."}]


def priced(model: ModelPrices, source) -> Estimate:
    return estimate(model, MESSAGES, PriceOptions(), source)


def test_a_calibrated_estimate_is_scaled_and_says_on_how_many_calls() -> None:
    plain = priced(GPT, no_calibration)
    calibrated = priced(GPT, lambda model: Calibration(Decimal("1.5"), 12))
    assert calibrated.input_tokens == -(-plain.input_tokens * 3 // 2)
    assert plain_line(calibrated).split("\t")[3] == "estimate (calibrated on 12 calls)"
    cell = f"{calibrated.input_tokens:,} estimate (calibrated on 12 calls)"
    assert table_row(calibrated)[1] == cell
    record = calibrated.as_json()
    assert record["token_count"] == "estimate" and record["calibrated_on"] == 12
    assert record["input_cost"] == Decimal("0.0000025") * calibrated.input_tokens
    assert "calibrated_on" not in plain.as_json() and plain_line(plain).split("\t")[3] == "estimate"


def test_exact_counts_ignore_any_calibration() -> None:
    devstral = BUILTIN_MODELS["mistralai/devstral-2512"]
    asked: list[str] = []

    def source(model: str) -> Calibration:
        asked.append(model)
        return Calibration(Decimal(2), 20)

    exact = priced(devstral, source)
    assert exact == priced(devstral, no_calibration) and exact.label == "exact"
    assert asked == []  # the ledger is not even asked
