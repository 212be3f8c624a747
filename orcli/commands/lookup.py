"""What the guards need to know of a request's models, looked up where orcli keeps it.

The guards themselves are pure (`orcli.request.guards`); this is the one place
that asks the catalog for them: the built-in entry or the cache for contexts,
efforts and the usage line's estimate (never a fetch just for these), and a
fetch only when --max-cost needs prices that are neither built in nor cached.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from orcli.models.pricing import BUILTIN_MODELS, ModelPrices
from orcli.render.iostreams import Streams
from orcli.request.guards import ModelLimits, estimate_usage_cost
from orcli.request.routing import listed_models
from orcli.store.config import Settings


def model_limits(body: Mapping[str, Any], settings: Settings, streams: Streams,
                 with_prices: bool) -> ModelLimits:
    """Contexts of every listed model, and their prices when a budget needs them."""
    listed = listed_models(body) or [settings.model]
    prices = []
    if with_prices:
        from orcli.models.catalog import cache_dir_from_env, models_facts

        found = models_facts(listed, base_url=settings.base_url,
                             cache_dir=cache_dir_from_env(streams.env),
                             fetch=fetcher(settings, streams),
                             warn=streams.err)
        prices = [facts.prices for facts in found]
    known = {p.model: p.context_length for p in prices}
    return ModelLimits({m: known.get(m) or known_context(m, settings, streams.env)
                        for m in listed}, prices)


def known_context(model: str, settings: Settings, env: Mapping[str, str]) -> int | None:
    """The model's context length from the built-in entry or the cache; never fetched."""
    builtin = BUILTIN_MODELS.get(model)
    if builtin is not None:
        return builtin.context_length  # the common case needs no catalog module at all
    from orcli.models.catalog import cache_dir_from_env, known_context_length

    return known_context_length(model, settings.base_url, cache_dir_from_env(env))


def known_efforts(model: str, settings: Settings, env: Mapping[str, str]
                  ) -> tuple[str, ...] | None:
    """The reasoning efforts the cached catalog lists for the model; None: any goes."""
    from orcli.models.catalog import cache_dir_from_env, known_model

    facts = known_model(model, settings.base_url, cache_dir_from_env(env))
    return None if facts is None else facts.supported_efforts


def estimated_cost(model: str, prompt_tokens: int | None, completion_tokens: int | None,
                   settings: Settings | None, env: Mapping[str, str] | None) -> Decimal | None:
    """A finished call's cost from the built-in or cached prices, when the API did not say."""
    prices = BUILTIN_MODELS.get(model)
    if prices is None and settings is not None and env is not None:
        prices = known_prices(model, settings, env)
    return estimate_usage_cost(prices, prompt_tokens, completion_tokens)


def known_prices(model: str, settings: Settings,
                 env: Mapping[str, str] | None = None) -> ModelPrices | None:
    """The model's prices from the built-in entry or the cache; never fetched."""
    if model in BUILTIN_MODELS:
        return BUILTIN_MODELS[model]
    from orcli.models.catalog import cache_dir_from_env, known_model

    facts = known_model(model, settings.base_url, cache_dir_from_env(env or {}))
    return None if facts is None else facts.prices


def fetcher(settings: Settings, streams: Streams,
            debug: bool = False) -> Callable[[], list[dict[str, Any]]]:
    """GET /models through the App's HTTP client, which is made only if a fetch is due.

    A listing served from the cache never loads requests. Retries and --debug
    lines are notes on stderr.
    """

    def fetch() -> list[dict[str, Any]]:
        from orcli.app import client_for

        notify = streams.err
        return client_for(streams, settings, debug=notify if debug else None,
                          notify=notify).list_models()

    return fetch
