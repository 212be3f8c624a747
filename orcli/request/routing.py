"""Routing, reasoning and caching flags: the body fields and headers they become.

Pure. `--fallback` becomes `models: [MODEL, FALLBACK...]` (`model` is still sent);
the provider flags become one `provider` object, merged with the one `-o provider=...`
gave; the reasoning flags become `reasoning.effort` or `reasoning.max_tokens`. A key
that a flag and `-o` both set is refused rather than silently won by either side.
Response caching lives in request headers only (`X-OpenRouter-Cache`), which is why
`-o` cannot reach it.

The worst-case helpers serve the guards: a request that may fall back to another
model must fit the budget and the context of whichever model serves it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orcli.errors import ExitStatus, OrcliError, UsageError
from orcli.models.pricing import ModelPrices
from orcli.options import RoutingOptions

PROVIDER_SORTS = ("price", "throughput", "latency")
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
CACHE_TTL_RANGE = (1, 86400)  # seconds, as OpenRouter's response cache takes them

CACHE_HEADER = "X-OpenRouter-Cache"
CACHE_TTL_HEADER = "X-OpenRouter-Cache-TTL"

# The body keys that say how much a model reasons; a flag and `-o` may not both set one.
_REASONING_AMOUNT = ("effort", "max_tokens")


class UnknownPricesError(OrcliError):
    """A listed model's prices cannot be learned, so no budget can be promised."""

    status = ExitStatus.REFUSED


def check_routing(opts: RoutingOptions) -> None:
    """Exit 2 for a value the API would refuse or two flags that contradict each other."""
    for flag, names in (("--fallback", opts.fallbacks), ("--provider", opts.provider_order),
                        ("--only", opts.only), ("--ignore", opts.ignore)):
        if any(not name.strip() for name in names):
            raise UsageError(f"{flag} needs a name, not an empty string")
    _check_choice("--provider-sort", opts.provider_sort, PROVIDER_SORTS)
    _check_choice("--reasoning-effort", opts.reasoning_effort, REASONING_EFFORTS)
    if opts.reasoning_effort is not None and opts.reasoning_tokens is not None:
        raise UsageError("--reasoning-effort and --reasoning-tokens both say how much the "
                         "model reasons; give one")
    if opts.reasoning_tokens is not None and opts.reasoning_tokens < 1:
        raise UsageError(f"--reasoning-tokens must be 1 or more, not {opts.reasoning_tokens}")
    low, high = CACHE_TTL_RANGE
    if opts.cache_ttl is not None and not low <= opts.cache_ttl <= high:
        raise UsageError(f"--cache-ttl must be between {low} and {high} seconds, "
                         f"not {opts.cache_ttl}")


def _check_choice(flag: str, value: str | None, choices: Sequence[str]) -> None:
    if value is not None and value not in choices:
        raise UsageError(f"{flag} must be one of {', '.join(choices)}, not {value!r}")


def apply_routing(body: Mapping[str, Any], opts: RoutingOptions) -> dict[str, Any]:
    """A new body with the flags' `models`, `provider` and `reasoning` merged in."""
    check_routing(opts)
    out = dict(body)
    if opts.fallbacks:
        if "models" in out:
            raise UsageError("--fallback and -o models=... both list the models; give one")
        # A repeated id adds no fallback; the order is the user's.
        out["models"] = list(dict.fromkeys([str(out.get("model", "")), *opts.fallbacks]))
    provider = provider_flags(opts)
    if provider:
        out["provider"] = merge_flags(out.get("provider"), provider, "provider")
    reasoning = reasoning_flags(opts)
    if reasoning:
        if "reasoning_effort" in out:
            flag = next(iter(reasoning.values()))[0]
            raise UsageError(f"{flag} and -o reasoning_effort=... both say how much the model "
                             "reasons; give one")
        out["reasoning"] = merge_flags(out.get("reasoning"), reasoning, "reasoning",
                                       same_slot=_REASONING_AMOUNT)
    return out


def provider_flags(opts: RoutingOptions) -> dict[str, tuple[str, Any]]:
    """The `provider` keys the flags set: key -> (flag, value)."""
    fields: dict[str, tuple[str, Any]] = {}
    for key, flag, names in (("order", "--provider", opts.provider_order),
                             ("only", "--only", opts.only), ("ignore", "--ignore", opts.ignore)):
        if names:
            fields[key] = (flag, list(names))
    if opts.provider_sort is not None:
        fields["sort"] = ("--provider-sort", opts.provider_sort)
    for key, flag, given, value in (
        ("allow_fallbacks", "--no-fallbacks", opts.no_fallbacks, False),
        ("zdr", "--zdr", opts.zdr, True),
        ("data_collection", "--deny-data-collection", opts.deny_data_collection, "deny"),
        ("require_parameters", "--require-parameters", opts.require_parameters, True),
    ):
        if given:
            fields[key] = (flag, value)
    return fields


def reasoning_flags(opts: RoutingOptions) -> dict[str, tuple[str, Any]]:
    """The `reasoning` keys the flags set: key -> (flag, value)."""
    if opts.reasoning_effort is not None:
        return {"effort": ("--reasoning-effort", opts.reasoning_effort)}
    if opts.reasoning_tokens is not None:
        return {"max_tokens": ("--reasoning-tokens", opts.reasoning_tokens)}
    return {}


def merge_flags(given: object, flags: Mapping[str, tuple[str, Any]], field: str,
                same_slot: Sequence[str] = ()) -> dict[str, Any]:
    """`-o FIELD={...}` with the flags' keys added; exit 2 when both set one key.

    Keys in `same_slot` count as one: `-o reasoning={"max_tokens": 100}` and
    `--reasoning-effort` contradict each other as much as two efforts would.
    """
    if given is None:
        given = {}
    if not isinstance(given, dict):
        flag = next(iter(flags.values()))[0]
        raise UsageError(f"-o {field}=... must be a JSON object to be merged with {flag}")
    for key, (flag, _value) in flags.items():
        slot = same_slot if key in same_slot else (key,)
        clash = next((k for k in slot if k in given), None)
        if clash is not None:
            what = f"both set {field}.{key}" if clash == key else "contradict each other"
            raise UsageError(f"{flag} and -o {field}={{\"{clash}\": ...}} {what}; give one")
    return {**given, **{key: value for key, (_flag, value) in flags.items()}}


def request_headers(opts: RoutingOptions) -> dict[str, str]:
    """The response-cache headers: none unless --cache or --cache-ttl."""
    if not opts.caching:
        return {}
    headers = {CACHE_HEADER: "true"}
    if opts.cache_ttl is not None:
        headers[CACHE_TTL_HEADER] = str(opts.cache_ttl)
    return headers


def listed_models(body: Mapping[str, Any]) -> list[str]:
    """Every model the request may be served by: `model`, then `models`, each once."""
    names = [body.get("model")]
    extra = body.get("models")
    if isinstance(extra, list):
        names += extra
    return list(dict.fromkeys(n for n in names if isinstance(n, str) and n))


def requested_effort(body: Mapping[str, Any]) -> str | None:
    """The reasoning effort the body asks for, from `reasoning.effort` or `reasoning_effort`."""
    reasoning = body.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    if effort is None:
        effort = body.get("reasoning_effort")
    return effort if isinstance(effort, str) else None


def supported_efforts(entry: Mapping[str, Any]) -> tuple[str, ...] | None:
    """`reasoning.supported_efforts` of a catalog entry; None when it lists none (any goes)."""
    reasoning = entry.get("reasoning")
    listed = reasoning.get("supported_efforts") if isinstance(reasoning, dict) else None
    if not isinstance(listed, list):
        return None
    return tuple(e.strip().casefold() for e in listed if isinstance(e, str))


def check_effort(effort: str | None, model: str, supported: Sequence[str] | None) -> None:
    """Exit 2 when the model lists its efforts and the one asked for is not among them."""
    if effort is None or supported is None or effort.casefold() in supported:
        return
    allowed = ", ".join(supported) if supported else "none listed"
    raise UsageError(f"reasoning effort {effort!r} is not supported by {model} "
                     f"(it supports: {allowed})")


def worst_case_prices(prices: Sequence[ModelPrices]) -> ModelPrices:
    """The dearest prompt and completion prices and the smallest limits over the models.

    One model's prices are returned as they are. For several, any model whose prices
    are variable or unknown makes the worst case unknowable: UnknownPricesError (exit 4).
    """
    if not prices:
        raise ValueError("no models to take the worst case of")
    if len(prices) == 1:
        return prices[0]
    unknown = [p.model for p in prices if p.is_variable]
    if unknown:
        raise UnknownPricesError(
            f"--max-cost cannot be checked: the prices of {', '.join(unknown)} are variable or "
            "unknown, and the request may fall back to it; nothing was sent")
    return ModelPrices(
        model=", ".join(p.model for p in prices),
        prompt=max(p.prompt for p in prices),  # type: ignore[type-var]
        completion=max(p.completion for p in prices),  # type: ignore[type-var]
        context_length=_smallest(p.context_length for p in prices),
        max_output=_smallest(p.max_output for p in prices),
    )


def smallest_context(contexts: Mapping[str, int | None]) -> tuple[str, int] | None:
    """The listed model with the smallest known context and that context; None if none known."""
    known = [(size, model) for model, size in contexts.items() if size is not None]
    if not known:
        return None
    size, model = min(known, key=lambda pair: pair[0])
    return model, size


def _smallest(values: Any) -> int | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None
