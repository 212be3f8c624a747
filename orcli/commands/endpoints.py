"""`orcli models endpoints ID`: the providers serving one model, from
`GET /models/{author}/{slug}/endpoints`.

Piped output is one line per endpoint, tab-separated, no header:
`provider  tag  quantization  context  max_output  prompt_$/M  completion_$/M
latency_p50_ms  throughput_p50_tok/s  uptime_%`. A value the API does not give
(no recent latency, no quantization) is written as `-`, as in `orcli models`,
so that IFS-splitting readers keep the columns. Prices come per token, as in
the catalog, and are shown per 1M tokens; latency is OpenRouter's p50 time to
first token over the last 30 minutes, in milliseconds, throughput its p50 in
tokens per second, uptime its percentage over the last 30 minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, NoReturn
from urllib.parse import quote

from orcli import render
from orcli.commands.lookup import fetcher
from orcli.errors import ApiError, ExitStatus, OrcliError, UpstreamError, UsageError
from orcli.models import catalog
from orcli.models.pricing import json_object, price_text, prices_from_model
from orcli.options import EndpointsOptions
from orcli.render.iostreams import Streams
from orcli.store.config import Settings, load_settings

SORT_KEYS = ("price", "latency", "throughput")
MISSING = "-"

Endpoint = dict[str, Any]


class EndpointRow(NamedTuple):
    """One endpoint as listed; every cell already text, MISSING when unknown."""

    provider: str
    tag: str
    quantization: str
    context: str
    max_output: str
    prompt_per_m: str
    completion_per_m: str
    latency_ms: str
    throughput: str
    uptime: str


def run_endpoints(opts: EndpointsOptions, streams: Streams) -> int:
    """Fetch one model's endpoints and list them."""
    if opts.sort is not None and opts.sort not in SORT_KEYS:
        raise UsageError(f"--sort for endpoints must be one of {', '.join(SORT_KEYS)}, "
                         f"not {opts.sort!r}")
    settings = load_settings(opts.settings_flags, streams.env, streams.err)
    endpoints = sort_endpoints(fetch_endpoints(opts, settings, streams), opts.sort)
    if opts.json_out:
        render.write_json(streams, endpoints)
        return ExitStatus.OK
    rows = [endpoint_row(e) for e in endpoints]
    if streams.stdout_isatty:
        render.write_endpoints_table(streams, [table_cells(r) for r in rows])
        if not rows:
            streams.err(f"orcli: no provider serves {opts.model_id} right now")
        return ExitStatus.OK
    streams.out("".join("\t".join(_one_line(c) for c in r) + "\n" for r in rows), flush=True)
    return ExitStatus.OK


def fetch_endpoints(opts: EndpointsOptions, settings: Settings, streams: Streams) -> list[Endpoint]:
    """The API's endpoint objects; an unknown id exits 4 naming close ids from the catalog."""
    author, slash, slug = opts.model_id.partition("/")
    if not (author and slash and slug):
        unknown_model(opts, settings, streams)  # no such id can have endpoints
    from orcli.app import client_for

    client = client_for(streams, settings, debug=streams.err if opts.debug else None,
                        notify=streams.err)
    path = f"/models/{quote(author, safe='')}/{quote(slug, safe=':')}/endpoints"
    try:
        answer = client.get_json(path, need_key=False)
    except ApiError as error:
        if error.http_status == 404 and not error.wrong_url:  # the API's own 404
            unknown_model(opts, settings, streams)
        raise
    data = answer.get("data")
    listed = data.get("endpoints") if isinstance(data, dict) else None
    if not isinstance(listed, list):
        raise UpstreamError(f"GET {settings.base_url}{path}: the answer has no "
                            "data.endpoints list")
    return [e for e in listed if isinstance(e, dict)]


def unknown_model(opts: EndpointsOptions, settings: Settings, streams: Streams) -> NoReturn:
    """Exit 4 for an id the API does not know, with close ids when the catalog has any."""
    try:
        models = catalog.load_catalog(
            settings.base_url, fetcher(settings, streams, opts.debug),
            cache_dir=catalog.cache_dir_from_env(streams.env), refresh=opts.refresh,
            warn=streams.err)
    except OrcliError:
        models = []  # suggestions are a help; the unknown id is the error to report
    catalog.find_model(models, opts.model_id)  # raises, naming close ids
    # The catalog lists the id, yet the API had no endpoints for it.
    raise ApiError(f"HTTP 404: no endpoints for '{opts.model_id}'", ExitStatus.REFUSED, 404)


def endpoint_row(endpoint: Endpoint) -> EndpointRow:
    """The listed cells of one endpoint object."""
    prices = prices_from_model(endpoint)  # an endpoint prices per token as the catalog does
    return EndpointRow(
        provider=_text(endpoint.get("provider_name")),
        tag=_text(endpoint.get("tag")),
        quantization=_text(endpoint.get("quantization")),
        context=_number(prices.context_length),
        max_output=_number(endpoint.get("max_completion_tokens")),
        prompt_per_m=price_text(prices, prices.prompt),
        completion_per_m=price_text(prices, prices.completion),
        latency_ms=_number(_p50(endpoint, "latency_last_30m")),
        throughput=_number(_p50(endpoint, "throughput_last_30m")),
        uptime=_number(endpoint.get("uptime_last_30m")),
    )


def table_cells(row: EndpointRow) -> tuple[str, ...]:
    """One endpoint as the terminal table shows it: token counts with thousands separators."""
    return tuple(row._replace(context=_grouped(row.context), max_output=_grouped(row.max_output)))


def _grouped(count: str) -> str:
    return f"{int(count):,}" if count.isdigit() else count


def sort_endpoints(endpoints: list[Endpoint], key: str | None) -> list[Endpoint]:
    """Cheapest, quickest to answer or fastest first; unknown values last; None: as given."""
    if key is None:
        return list(endpoints)
    value = _SORT_VALUE[key]
    known = [e for e in endpoints if value(e) is not None]
    unknown = [e for e in endpoints if value(e) is None]
    # Stable: endpoints that tie keep the API's order.
    return sorted(known, key=value) + unknown  # type: ignore[arg-type, return-value]


def _price_key(endpoint: Endpoint) -> tuple[Any, Any] | None:
    prices = prices_from_model(endpoint)
    return None if prices.is_variable else (prices.prompt, prices.completion)


def _negated(value: float | None) -> float | None:
    return None if value is None else -value


_SORT_VALUE: dict[str, Callable[[Endpoint], Any]] = {
    "price": _price_key,
    "latency": lambda e: _p50(e, "latency_last_30m"),
    "throughput": lambda e: _negated(_p50(e, "throughput_last_30m")),  # highest first
}


def _p50(endpoint: Endpoint, key: str) -> float | None:
    return _real(json_object(endpoint, key).get("p50"))


def _real(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None  # null, junk or NaN: unknown, never 0
    return float(value)


def _number(value: object) -> str:
    """A count or measurement as plain text: "262144", "512.3", "99.5"; MISSING if unknown."""
    real = _real(value)
    if real is None or abs(real) == float("inf"):
        return MISSING
    if real.is_integer():
        return str(int(real))
    return f"{real:.2f}".rstrip("0").rstrip(".")


def _text(value: object) -> str:
    return value if isinstance(value, str) and value.strip() else MISSING


def _one_line(cell: str) -> str:
    # A tab or newline inside a provider's name would break every `cut -f` downstream.
    return " ".join(cell.split()) or MISSING
