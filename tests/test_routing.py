"""Routing, reasoning and caching flags as body fields and headers (pure, no server)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orcli.errors import ExitStatus, UsageError
from orcli.models.pricing import ModelPrices
from orcli.request.routing import (
    RoutingOptions,
    UnknownPricesError,
    apply_routing,
    check_effort,
    listed_models,
    request_headers,
    requested_effort,
    smallest_context,
    supported_efforts,
    worst_case_prices,
)

BODY = {"model": "mistralai/devstral-2512", "messages": [{"role": "user", "content": "hi"}]}


def routed(body: dict | None = None, **flags: object) -> dict:
    return apply_routing(body or BODY, RoutingOptions(**flags))  # type: ignore[arg-type]


# ---- the body ------------------------------------------------------------------------------

def test_no_flags_leave_the_body_as_it_was_and_send_no_headers():
    assert routed() == BODY
    assert request_headers(RoutingOptions()) == {}


def test_fallbacks_list_the_model_first_and_keep_model():
    body = routed(fallbacks=("openai/gpt-4o", "anthropic/claude-sonnet-4", "openai/gpt-4o"))
    assert body["model"] == "mistralai/devstral-2512"
    assert body["models"] == ["mistralai/devstral-2512", "openai/gpt-4o",
                              "anthropic/claude-sonnet-4"]


def test_the_body_given_is_not_changed():
    given = dict(BODY)
    routed(given, fallbacks=("openai/gpt-4o",), zdr=True, reasoning_effort="low")
    assert given == BODY


def test_provider_flags_become_one_provider_object():
    body = routed(provider_order=("deepinfra", "together"), only=("deepinfra", "together"),
                  ignore=("azure",), provider_sort="throughput", no_fallbacks=True, zdr=True,
                  deny_data_collection=True, require_parameters=True)
    assert body["provider"] == {
        "order": ["deepinfra", "together"], "only": ["deepinfra", "together"],
        "ignore": ["azure"], "sort": "throughput", "allow_fallbacks": False, "zdr": True,
        "data_collection": "deny", "require_parameters": True,
    }


def test_provider_flags_merge_with_the_keys_of_o_provider():
    given = {**BODY, "provider": {"quantizations": ["fp8"], "max_price": {"prompt": 1}}}
    body = routed(given, provider_sort="price")
    assert body["provider"] == {"quantizations": ["fp8"], "max_price": {"prompt": 1},
                                "sort": "price"}


@pytest.mark.parametrize(("flags", "key", "flag"), [
    ({"provider_sort": "price"}, "sort", "--provider-sort"),
    ({"provider_order": ("a",)}, "order", "--provider"),
    ({"zdr": True}, "zdr", "--zdr"),
    ({"no_fallbacks": True}, "allow_fallbacks", "--no-fallbacks"),
    ({"deny_data_collection": True}, "data_collection", "--deny-data-collection"),
])
def test_a_key_set_by_a_flag_and_by_o_provider_exits_2_naming_both(flags, key, flag):
    given = {**BODY, "provider": {key: "x"}}
    with pytest.raises(UsageError) as caught:
        routed(given, **flags)
    assert flag in caught.value.message and f"-o provider={{\"{key}\"" in caught.value.message
    assert caught.value.status == ExitStatus.USAGE


def test_o_provider_that_is_not_an_object_cannot_be_merged():
    with pytest.raises(UsageError, match="must be a JSON object"):
        routed({**BODY, "provider": "deepinfra"}, zdr=True)


def test_fallback_and_o_models_both_listing_models_exits_2():
    with pytest.raises(UsageError, match="--fallback and -o models"):
        routed({**BODY, "models": ["a/b"]}, fallbacks=("c/d",))


@pytest.mark.parametrize(("flags", "reasoning"), [
    ({"reasoning_effort": "xhigh"}, {"effort": "xhigh"}),
    ({"reasoning_effort": "none"}, {"effort": "none"}),
    ({"reasoning_tokens": 2000}, {"max_tokens": 2000}),
])
def test_reasoning_flags(flags, reasoning):
    assert routed(**flags)["reasoning"] == reasoning


def test_reasoning_flags_merge_with_o_reasoning_but_not_its_amount():
    assert routed({**BODY, "reasoning": {"exclude": True}}, reasoning_effort="low")[
        "reasoning"] == {"exclude": True, "effort": "low"}
    with pytest.raises(UsageError, match="--reasoning-effort and -o reasoning=.*max_tokens"):
        routed({**BODY, "reasoning": {"max_tokens": 100}}, reasoning_effort="low")
    with pytest.raises(UsageError, match="--reasoning-tokens and -o reasoning_effort"):
        routed({**BODY, "reasoning_effort": "low"}, reasoning_tokens=100)


@pytest.mark.parametrize(("flags", "words"), [
    ({"reasoning_effort": "low", "reasoning_tokens": 10}, "give one"),
    ({"reasoning_effort": "max"}, "none, minimal, low, medium, high, xhigh"),
    ({"reasoning_tokens": 0}, "1 or more"),
    ({"provider_sort": "cheap"}, "price, throughput, latency"),
    ({"cache_ttl": 0}, "between 1 and 86400"),
    ({"cache_ttl": 86401}, "between 1 and 86400"),
    ({"fallbacks": ("",)}, "--fallback needs a name"),
    ({"only": (" ",)}, "--only needs a name"),
])
def test_values_the_api_would_refuse_exit_2_before_anything(flags, words):
    with pytest.raises(UsageError) as caught:
        routed(**flags)
    assert words in caught.value.message


# ---- the headers ---------------------------------------------------------------------------

def test_cache_sends_the_cache_header_and_a_ttl_implies_it():
    assert request_headers(RoutingOptions(cache=True)) == {"X-OpenRouter-Cache": "true"}
    assert request_headers(RoutingOptions(cache_ttl=86400)) == {
        "X-OpenRouter-Cache": "true", "X-OpenRouter-Cache-TTL": "86400"}
    assert "X-OpenRouter-Cache" not in routed(cache=True)  # headers, never the body


# ---- supported efforts ---------------------------------------------------------------------

def test_supported_efforts_come_from_the_catalog_entry_when_listed():
    assert supported_efforts({"reasoning": {"supported_efforts": ["High", "low"]}}) == (
        "high", "low")
    assert supported_efforts({"reasoning": {"supported_efforts": None}}) is None
    assert supported_efforts({"id": "x"}) is None


def test_an_effort_the_model_does_not_list_exits_2_naming_the_ones_it_does():
    check_effort("low", "openai/o3", ("low", "high"))
    check_effort("low", "openai/o3", None)  # not listed: anything goes
    with pytest.raises(UsageError) as caught:
        check_effort("minimal", "openai/o3", ("low", "high"))
    assert "openai/o3" in caught.value.message and "low, high" in caught.value.message


def test_the_requested_effort_is_read_from_either_body_field():
    assert requested_effort({"reasoning": {"effort": "low"}}) == "low"
    assert requested_effort({"reasoning_effort": "high"}) == "high"
    assert requested_effort({"reasoning": {"max_tokens": 9}}) is None


# ---- the worst case ------------------------------------------------------------------------

def prices(model: str, prompt: str | None, completion: str | None, context: int | None,
           max_output: int | None = None) -> ModelPrices:
    return ModelPrices(model, None if prompt is None else Decimal(prompt),
                       None if completion is None else Decimal(completion), context, max_output)


def test_listed_models_are_model_then_models_each_once():
    assert listed_models({"model": "a/x", "models": ["a/x", "b/y", 3, "b/y"]}) == ["a/x", "b/y"]
    assert listed_models({"model": "a/x"}) == ["a/x"]


def test_worst_case_takes_the_dearest_prices_and_smallest_limits_of_any_model():
    worst = worst_case_prices([prices("a/x", "0.000001", "0.000002", 100_000, 8000),
                               prices("b/y", "0.000003", "0.0000015", 32_000, None),
                               prices("c/z", "0.0000005", "0.000004", None, 4000)])
    assert (worst.prompt, worst.completion) == (Decimal("0.000003"), Decimal("0.000004"))
    assert (worst.context_length, worst.max_output) == (32_000, 4000)


def test_one_model_is_its_own_worst_case():
    only = prices("a/x", None, None, 10)
    assert worst_case_prices([only]) is only


def test_a_fallback_without_known_prices_refuses_the_budget_with_exit_4():
    with pytest.raises(UnknownPricesError) as caught:
        worst_case_prices([prices("a/x", "0.000001", "0.000002", 10),
                           prices("openrouter/auto", None, None, 10)])
    assert caught.value.status == ExitStatus.REFUSED == 4
    assert "openrouter/auto" in caught.value.message


def test_smallest_known_context_names_its_model():
    assert smallest_context({"a/x": 100, "b/y": None, "c/z": 50}) == ("c/z", 50)
    assert smallest_context({"a/x": None}) is None
