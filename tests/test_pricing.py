"""Exact decimal prices: parsing, cost arithmetic, budgets, formatting and JSON numbers."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orcli.errors import ExitStatus
from orcli.models.pricing import (
    BUILTIN_MODELS,
    MAX_TOKENS,
    ModelPrices,
    VariablePriceError,
    cost,
    decimal_to_json_number,
    dumps_json,
    format_decimal,
    format_price_per_million,
    format_usd,
    max_output_within_budget,
    parse_price,
    per_million,
    price_text,
    prices_from_model,
    worst_case_cost,
)

DEVSTRAL = BUILTIN_MODELS["mistralai/devstral-2512"]
AUTO = ModelPrices("openrouter/auto", None, None, 2_000_000, None)


def priced(prompt: str, completion: str) -> ModelPrices:
    return ModelPrices("test/model", Decimal(prompt), Decimal(completion), None, None)


# --- the built-in default model -------------------------------------------------


def test_builtin_default_model_prices_and_context() -> None:
    assert DEVSTRAL.prompt == Decimal("0.0000004")
    assert DEVSTRAL.completion == Decimal("0.000002")
    assert DEVSTRAL.context_length == 262_144
    assert DEVSTRAL.prompt_per_million == Decimal("0.4")
    assert DEVSTRAL.completion_per_million == Decimal("2")


def test_small_request_costs_exactly() -> None:
    costs = cost(DEVSTRAL, 3, 7)
    assert costs.input_cost == Decimal("0.0000012")
    assert costs.output_cost == Decimal("0.000014")
    assert costs.total == Decimal("0.0000152")
    assert format_decimal(costs.total) == "0.0000152"
    assert format_usd(costs.total) == "$0.0000152"


def test_a_million_each_way_costs_exactly() -> None:
    total = cost(DEVSTRAL, 1_000_000, 1_000_000).total
    assert total == Decimal("2.40")
    assert format_decimal(total) == "2.4"
    assert format_usd(total) == "$2.40"


def test_cost_is_exact_where_floats_are_not() -> None:
    # In binary floats, 13 tokens at $0.0000004 come to 5.199999999999999e-06.
    assert cost(DEVSTRAL, 13, 0).total == Decimal("0.0000052")
    assert format_usd(cost(DEVSTRAL, 13, 0).total) == "$0.0000052"
    assert 13 * 0.0000004 != 0.0000052


def test_cost_refuses_negative_tokens() -> None:
    with pytest.raises(ValueError):
        cost(DEVSTRAL, -1, 0)


# --- parsing the API's price strings ------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0.0000004", Decimal("0.0000004")),
        ("0", Decimal(0)),
        (None, Decimal(0)),
        ("", Decimal(0)),
        (0, Decimal(0)),
        ("-1", None),
        ("-0.5", None),
        ("NaN", None),
        ("Infinity", None),
        ("cheap", None),
        (True, None),
        ([1], None),
        (0.25, Decimal("0.25")),
        # Exponents no price has: their arithmetic would overflow, or print pages of zeros.
        ("1e999999", None),
        ("1e-999999", None),
        ("0E-999999", Decimal(0)),
    ],
)
def test_parse_price(raw: object, expected: Decimal | None) -> None:
    assert parse_price(raw) == expected


def test_prices_from_full_catalog_object() -> None:
    obj = {
        "id": "openai/gpt-4o-mini",
        "context_length": 128000,
        "pricing": {
            "prompt": "0.00000015",
            "completion": "0.0000006",
            "request": "0",
            "image": "0.000217",
            "input_cache_read": "0.000000075",
        },
        "top_provider": {"context_length": 128000, "max_completion_tokens": 16384},
    }
    prices = prices_from_model(obj)
    assert prices == ModelPrices(
        "openai/gpt-4o-mini", Decimal("0.00000015"), Decimal("0.0000006"), 128000, 16384
    )
    assert not prices.is_variable


@pytest.mark.parametrize("entry", [
    {"id": "local/llama"}, {"id": "local/llama", "pricing": {"prompt": "0.000001"}},
    {"id": "local/llama", "pricing": {"prompt": "x", "completion": "0"}},
    {"id": "local/llama", "pricing": "free"},
])
def test_missing_or_unreadable_prices_are_unknown_never_zero(entry) -> None:
    prices = prices_from_model(entry)
    assert prices.unknown and prices.is_variable
    assert (prices.prompt, prices.completion) == (None, None)
    assert price_text(prices, prices.prompt) == "unknown"


def test_variable_prices_are_not_unknown() -> None:
    prices = prices_from_model({"id": "openrouter/auto",
                                "pricing": {"prompt": "-1", "completion": "-1"}})
    assert prices.is_variable and not prices.unknown
    assert price_text(prices, prices.prompt) == "variable"


def test_minus_one_is_variable() -> None:
    prices = prices_from_model(
        {"id": "openrouter/auto", "pricing": {"prompt": "-1", "completion": "-1"}}
    )
    assert prices.prompt is None and prices.completion is None
    assert prices.is_variable
    assert prices.prompt_per_million is None
    assert format_price_per_million(prices.prompt) == "variable"


@pytest.mark.parametrize("bad", ["x", 5, ["0.1", "0.2"], True])
def test_a_pricing_that_is_not_an_object_is_unknown(bad: object) -> None:
    prices = prices_from_model({"id": "bad/pricing", "pricing": bad})
    assert prices.prompt is None and prices.completion is None and prices.is_variable


def test_a_top_provider_that_is_not_an_object_is_missing() -> None:
    prices = prices_from_model({"id": "x/y", "context_length": None, "top_provider": "x"})
    assert (prices.context_length, prices.max_output) == (None, None)
    assert prices_from_model({"id": "x/y", "top_provider": [1]}).max_output is None


def test_context_length_falls_back_to_top_provider() -> None:
    obj = {"id": "x/y", "context_length": None, "top_provider": {"context_length": 32768}}
    assert prices_from_model(obj).context_length == 32768
    obj_none = {"id": "x/y", "context_length": None, "top_provider": {"context_length": None}}
    assert prices_from_model(obj_none).context_length is None


def test_variable_prices_refuse_cost_with_guard_status() -> None:
    with pytest.raises(VariablePriceError) as caught:
        cost(AUTO, 10, 10)
    assert caught.value.status == ExitStatus.GUARD
    assert "openrouter/auto" in caught.value.message
    with pytest.raises(VariablePriceError):
        max_output_within_budget(AUTO, 10, Decimal(1))


# --- budgets ----------------------------------------------------------------------


def test_worst_case_cost() -> None:
    assert worst_case_cost(DEVSTRAL, 3, 7) == Decimal("0.0000152")


def test_budget_exactly_met_is_allowed() -> None:
    assert max_output_within_budget(DEVSTRAL, 3, Decimal("0.0000152")) == 7
    assert worst_case_cost(DEVSTRAL, 3, 7) <= Decimal("0.0000152")


def test_budget_just_short_loses_a_token() -> None:
    assert max_output_within_budget(DEVSTRAL, 3, Decimal("0.0000151999")) == 6


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        (Decimal("0.0000012"), 0),  # input alone uses the whole budget
        (Decimal("0.0000011"), -1),  # input alone is over budget
        (Decimal(0), -1),
    ],
)
def test_budget_with_no_room_for_output(budget: Decimal, expected: int) -> None:
    assert max_output_within_budget(DEVSTRAL, 3, budget) == expected


def test_free_output_sets_no_bound() -> None:
    assert max_output_within_budget(priced("0.000001", "0"), 10, Decimal("0.00001")) is None
    assert max_output_within_budget(priced("0.000001", "0"), 11, Decimal("0.00001")) == -1


def test_large_budget() -> None:
    # $1 of devstral: 1M input tokens cost $0.40, leaving $0.60 = 300,000 output tokens.
    assert max_output_within_budget(DEVSTRAL, 1_000_000, Decimal("1")) == 300_000


@pytest.mark.parametrize("budget", ["1e20", "1e60", "1e100", "1e999999"])
def test_a_huge_budget_gives_the_token_cap_without_overflow(budget: str) -> None:
    # A quotient of more than 60 digits once raised DivisionImpossible.
    assert max_output_within_budget(DEVSTRAL, 1000, Decimal(budget)) == MAX_TOKENS
    tiny = priced("0", "1e-30")
    assert max_output_within_budget(tiny, 0, Decimal("0.01")) == MAX_TOKENS


def test_budget_just_under_the_cap_is_exact() -> None:
    budget = (MAX_TOKENS - 1) * DEVSTRAL.completion
    assert max_output_within_budget(DEVSTRAL, 0, budget) == MAX_TOKENS - 1
    assert max_output_within_budget(DEVSTRAL, 0, budget + DEVSTRAL.completion) == MAX_TOKENS


@given(
    input_tokens=st.integers(0, 10_000_000),
    budget=st.decimals(min_value=0, max_value=100, places=8),
)
def test_budget_answer_is_the_largest_that_fits(input_tokens: int, budget: Decimal) -> None:
    allowed = max_output_within_budget(DEVSTRAL, input_tokens, budget)
    assert allowed is not None
    if allowed >= 0:
        assert worst_case_cost(DEVSTRAL, input_tokens, allowed) <= budget
        assert worst_case_cost(DEVSTRAL, input_tokens, allowed + 1) > budget
    else:
        assert cost(DEVSTRAL, input_tokens, 0).total > budget


# --- formatting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("per_token", "per_m"),
    [
        ("0.0000004", "0.4"),
        ("0.000002", "2"),
        ("0.00000015", "0.15"),
        ("0.000015", "15"),
        ("0.0000000375", "0.0375"),
        ("0", "0"),
        ("0.00012", "120"),
    ],
)
def test_per_million_without_noise(per_token: str, per_m: str) -> None:
    assert per_million(Decimal(per_token)) == Decimal(per_m)
    assert format_price_per_million(Decimal(per_token)) == per_m


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("0.0000152", "$0.0000152"),
        ("2.40", "$2.40"),
        ("2.4", "$2.40"),
        ("0", "$0.00"),
        ("0E-7", "$0.00"),
        ("12.345", "$12.345"),
        ("1E+3", "$1000.00"),
        ("-1.05", "-$1.05"),
        ("0.000000001", "$0.000000001"),
    ],
)
def test_format_usd(amount: str, text: str) -> None:
    assert format_usd(Decimal(amount)) == text


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_format_decimal_is_plain_and_exact(amount: Decimal) -> None:
    text = format_decimal(amount)
    assert "E" not in text.upper()
    assert Decimal(text) == amount


def test_format_decimal_rejects_nan() -> None:
    with pytest.raises(ValueError):
        format_decimal(Decimal("NaN"))


# --- JSON numbers ----------------------------------------------------------------------


def test_json_numbers_are_exact_literals() -> None:
    record = {
        "model": "mistralai/devstral-2512",
        "input_tokens": 3,
        "token_count": "exact",
        "prompt_price_per_million": Decimal("0.4000000"),
        "input_cost": Decimal("0.0000012"),
        "total_cost": Decimal("0.0000152"),
        "big": Decimal("2.40"),
        "nested": [Decimal("0.1"), None, True, {"k": Decimal("3")}],
    }
    text = dumps_json(record)
    assert '"total_cost": 0.0000152' in text
    assert '"prompt_price_per_million": 0.4,' in text
    assert '"big": 2.4' in text
    back = json.loads(text, parse_float=Decimal)
    assert back["total_cost"] == Decimal("0.0000152")
    assert back["nested"] == [Decimal("0.1"), None, True, {"k": 3}]
    # Without Decimals the output is exactly json.dumps's.
    plain = {"a": [1, "x\n\u00e9", None], "b": {"c": False}, 5: 1.5}
    assert dumps_json(plain) == json.dumps(plain)


def test_json_number_literal_has_no_exponent() -> None:
    assert decimal_to_json_number(Decimal("1.52E-5")) == "0.0000152"
    assert json.loads(decimal_to_json_number(Decimal("1.52E-5"))) == 0.0000152


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_json_round_trip_is_exact(amount: Decimal) -> None:
    text = dumps_json({"cost": amount})
    assert json.loads(text, parse_float=Decimal, parse_int=Decimal)["cost"] == amount


def test_json_refuses_non_finite() -> None:
    with pytest.raises(ValueError):
        dumps_json({"cost": Decimal("Infinity")})
