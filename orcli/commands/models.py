"""`orcli models`: list, filter and show the catalog.

Piped output is one line per model, tab-separated, no header:
`id  context_length  prompt_$/M  completion_$/M  name`. An unknown context
length is written as `-` rather than left empty, because `read` in bash and
other IFS-splitting tools merge consecutive tabs and would shift the columns.
A variable price (the auto router's "-1") is written as `variable`.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any, NamedTuple

from orcli import render
from orcli.commands.lookup import fetcher
from orcli.errors import ExitStatus, UsageError
from orcli.models import catalog
from orcli.models.facts import created_at, model_limits
from orcli.models.pricing import (
    format_decimal,
    format_price_per_million,
    is_price_given,
    json_object,
    parse_price,
    price_text,
)
from orcli.options import ModelsOptions
from orcli.render.iostreams import Streams
from orcli.store.config import Settings, load_settings

NO_CONTEXT = "-"
_LABEL_WIDTH = 23  # `models show`: values start in this column

# Prices the API gives per token; shown per 1M tokens.
_PER_TOKEN = {
    "prompt": "prompt (input)",
    "completion": "completion (output)",
    "input_cache_read": "cache read",
    "input_cache_write": "cache write",
    "internal_reasoning": "reasoning",
    "audio": "audio input",
    "input_audio_cache": "audio cache",
}
# Prices the API gives per unit other than a token; scaling these per 1M would mislead.
_PER_UNIT = {
    "request": ("request", "per request"),
    "image": ("image input", "per image"),
    "web_search": ("web search", "per search"),
}



class ListRow(NamedTuple):
    """One model as the list shows it; None = unknown context."""

    id: str
    context: int | None
    prompt_per_m: str
    completion_per_m: str
    name: str


def run_models(opts: ModelsOptions, streams: Streams) -> int:
    """List or show models from the (cached) catalog."""
    if opts.sort not in catalog.SORT_KEYS:
        # Checked before any fetch, so a typo costs no network round trip.
        raise UsageError(f"--sort must be one of {', '.join(catalog.SORT_KEYS)}, not {opts.sort!r}")
    settings = load_settings(opts.settings_flags, streams.env, streams.err)
    models = load_models(opts, settings, streams)
    if opts.show_id is not None:
        show_model(catalog.find_model(models, opts.show_id), opts, streams)
    else:
        list_models(select(models, opts), opts, streams)
    return ExitStatus.OK


def load_models(opts: ModelsOptions, settings: Settings, streams: Streams) -> list[dict[str, Any]]:
    """The catalog from a fresh cache, else fetched (stale cache when offline)."""
    return catalog.load_catalog(
        settings.base_url, fetcher(settings, streams, opts.debug),
        cache_dir=catalog.cache_dir_from_env(streams.env), refresh=opts.refresh, warn=streams.err,
    )


def select(models: list[dict[str, Any]], opts: ModelsOptions) -> list[dict[str, Any]]:
    """The flags' filters, sort and limit applied."""
    return catalog.select_models(
        models, search=opts.search, max_price=opts.max_price, min_context=opts.min_context,
        supports=opts.supports, free=opts.free, modality=opts.modality, sort=opts.sort,
        reverse=opts.reverse, limit=opts.limit,
    )


def list_models(models: list[dict[str, Any]], opts: ModelsOptions, streams: Streams) -> None:
    """JSON pass-through, a table on a terminal, or tab-separated lines."""
    if opts.json_out:
        render.write_json(streams, models)
        return
    rows = [list_row(m) for m in models]
    if streams.stdout_isatty:
        render.write_models_table(streams, [table_cells(r) for r in rows])
        if not rows:
            streams.err("orcli: no models match")
        return
    streams.out("".join(tsv_line(r) + "\n" for r in rows), flush=True)


def list_row(model: dict[str, Any]) -> ListRow:
    """The listed fields of one catalog entry; missing prices count as 0."""
    prices = model_limits(model)
    return ListRow(
        id=str(model.get("id", "")),
        context=prices.context_length,
        prompt_per_m=price_text(prices, prices.prompt),
        completion_per_m=price_text(prices, prices.completion),
        name=str(model.get("name") or ""),
    )


def tsv_line(row: ListRow) -> str:
    """One model as a tab-separated line (no newline)."""
    context = NO_CONTEXT if row.context is None else str(row.context)
    fields = (row.id, context, row.prompt_per_m, row.completion_per_m, row.name)
    # A tab or newline inside a name would break every `cut -f` downstream, and an
    # escape sequence would reach the terminal of `orcli models | grep x`.
    return "\t".join(render.safe_line(" ".join(f.split())) for f in fields)


def table_cells(row: ListRow) -> tuple[str, str, str, str, str]:
    """One model as the terminal table shows it: context with thousands separators."""
    context = NO_CONTEXT if row.context is None else f"{row.context:,}"
    return row.id, context, row.prompt_per_m, row.completion_per_m, row.name


def show_model(model: dict[str, Any], opts: ModelsOptions, streams: Streams) -> None:
    """One model's details, or its API object with --json."""
    if opts.json_out:
        render.write_json(streams, model)
        return
    lines = describe_model(model)
    if streams.stdout_isatty:
        # Wrapped at spaces to the terminal, values continued under their column.
        width = render.stdout_width(streams)
        split = lines.index("") if "" in lines else len(lines)
        lines = (render.wrap_lines(lines[:split], width, _LABEL_WIDTH)
                 + render.wrap_lines(lines[split:], width))
    else:
        lines = [render.safe_text(line) for line in lines]
    streams.out("".join(line + "\n" for line in lines), flush=True)


def describe_model(model: dict[str, Any]) -> list[str]:
    """The lines of `models show`: facts, prices, parameters, then the description."""
    prices = model_limits(model)
    arch = json_object(model, "architecture")
    facts = [
        ("id", str(model.get("id", ""))),
        ("name", str(model.get("name") or "")),
        ("context", _tokens(prices.context_length)),
        ("max output", _tokens(prices.max_output)),
        ("input modalities", _join(arch.get("input_modalities"))),
        ("output modalities", _join(arch.get("output_modalities"))),
        ("created", _date(created_at(model))),
        ("parameters", _join(model.get("supported_parameters"))),
    ]
    lines = [f"{label + ':':<{_LABEL_WIDTH}}{value}" for label, value in facts]
    lines += ["prices (USD):"] + model_price_lines(model)
    description = str(model.get("description") or "").strip()
    return lines + (["", *description.splitlines()] if description else [])


def model_price_lines(model: dict[str, Any]) -> list[str]:
    """The price lines of one entry; a pricing that is not an object gives no prices."""
    pricing = model.get("pricing")
    if pricing is not None and not isinstance(pricing, dict):
        # prices_from_model reads it as unknown too, so the list shows `variable`.
        return [f"  {'prompt (input):':<21}unknown", f"  {'completion (output):':<21}unknown"]
    return price_lines(pricing or {})


def price_lines(pricing: dict[str, Any]) -> list[str]:
    """Every priced item with its unit; prompt and completion always, others when not 0."""
    first = ("prompt", "completion")
    lines = []
    for key in [*first, *(k for k in pricing if k not in first)]:
        # Zero-price keys may be absent from the API's object: parse_price reads None as 0.
        raw = pricing.get(key)
        price = parse_price(raw)
        if price == 0 and key not in first:
            continue
        if key in first and not is_price_given(raw):  # absent or junk: unknown, never free
            price = None
        lines.append("  " + _price_text(key, raw, price))
    return lines


def _price_text(key: str, raw: object, price: Decimal | None) -> str:
    if key in _PER_TOKEN:
        amount = (_no_price(raw) if price is None
                  else f"{format_price_per_million(price)} per 1M tokens")
        return f"{_PER_TOKEN[key] + ':':<21}{amount}"
    if key in _PER_UNIT:
        label, unit = _PER_UNIT[key]
        amount = _no_price(raw) if price is None else f"{format_decimal(price)} {unit}"
        return f"{label + ':':<21}{amount}"
    # A price orcli does not know the unit of is shown exactly as the API gave it.
    return f"{key + ':':<21}{raw} (unit not known to orcli)"


def _no_price(raw: object) -> str:
    return "variable" if str(raw).strip() == "-1" else "unknown"


def _tokens(count: int | None) -> str:
    return "unknown" if count is None else f"{count:,} tokens"


def _join(values: object) -> str:
    if not isinstance(values, list) or not values:
        return "none listed"
    return ", ".join(str(v) for v in values)


def _date(created: int | None) -> str:
    return "unknown" if created is None else time.strftime("%Y-%m-%d", time.gmtime(created))
