"""What `orcli batch` will send, settled before anything is: rows, prices, worst cases.

Every line is read and checked first (a bad line or a repeated id stops the run
with exit 2 before the first request), the rows already done in -o FILE are
set aside, and the prices a budget needs are learned once per model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from orcli.errors import UnknownModelError, UsageError
from orcli.io.inputs import read_body_files
from orcli.io.jsonl import done_ids, iter_lines, open_input, prepare_resume
from orcli.models.pricing import ModelPrices, VariablePriceError, worst_case_cost
from orcli.options import BodyOptions, CommandOptions, RoutingOptions
from orcli.render.iostreams import Streams
from orcli.request import routing
from orcli.request.batch_rows import Defaults, Row, in_shard, parse_row
from orcli.request.payload import build_payload
from orcli.request.routing import listed_models, worst_case_prices
from orcli.response.result import Result
from orcli.store.config import Settings, load_settings


class BatchOptions(CommandOptions, frozen=True):
    input_path: str | None = None
    output: str | None = None
    ordered: bool = False
    concurrency: int = 8
    max_cost: Decimal | None = None
    shard: tuple[int, int] | None = None
    dry_run: bool = False
    system: str | None = None
    body: BodyOptions = field(default_factory=BodyOptions)
    routing: RoutingOptions = field(default_factory=RoutingOptions)
    tags: Sequence[str] = ()  # --tag KEY=VALUE, for the ledger
    no_ledger: bool = False


class Plan(Struct):
    settings: Settings
    rows: list[Row]
    skipped: int  # already done in -o FILE
    prices: dict[str, ModelPrices]  # only when a budget or a dry run needs them
    env: Mapping[str, str]
    # The context length of every model a row lists, where orcli knows it (the
    # built-in entry or the cached catalog; never fetched for this).
    contexts: dict[str, int | None] = {}


def make_plan(opts: BatchOptions, streams: Streams) -> Plan:
    """Settings, every row checked, the ones to send, and the prices they need."""
    settings = load_settings(opts.settings_flags, streams.env, streams.err)
    defaults = build_defaults(opts, settings)
    output = Path(opts.output) if opts.output else None
    if output is None:
        done: set[str] = set()
    else:  # a dry run reads the file but never changes it
        done = (done_ids(output) if output.exists() else set()) if opts.dry_run \
            else prepare_resume(output)
    rows, skipped = read_rows(opts, streams, defaults, done)
    prices: dict[str, ModelPrices] = {}
    if opts.max_cost is not None:
        missing = next((r for r in rows if "max_tokens" not in r.body_dict()), None)
        if missing is not None:
            raise UsageError("a budget (--max-cost, budget_daily or budget_monthly) needs "
                             f"--max-tokens (or max_tokens in every row); line {missing.line} "
                             "has none")
    if opts.max_cost is not None or (opts.dry_run and all(
            "max_tokens" in r.body_dict() for r in rows)):
        prices = learn_prices(rows, settings, streams)
    return Plan(settings, rows, skipped, prices, streams.env, known_contexts(rows, settings,
                                                                           streams.env))


def known_contexts(rows: Sequence[Row], settings: Settings, env: Mapping[str, str]
                   ) -> dict[str, int | None]:
    """What orcli knows of the context of each model the rows name, once per model."""
    from orcli.commands.lookup import known_context

    return {m: known_context(m, settings, env) for m in models_named(rows)}


def models_named(rows: Sequence[Row]) -> list[str]:
    """Every model the rows may be served by (`model`, then `models`), each once."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(listed_models(row.body_dict())))
    return list(names)


def build_defaults(opts: BatchOptions, settings: Settings) -> Defaults:
    """The body every row starts from, built and checked as chat builds its flags."""
    body = build_payload(settings.model, [], opts.body, read_body_files(opts.body))
    body = routing.apply_routing(body, opts.routing)
    del body["messages"]  # each row brings its own
    return Defaults(body, opts.system)


def read_rows(opts: BatchOptions, streams: Streams, defaults: Defaults,
              done: set[str]) -> tuple[list[Row], int]:
    """The rows of this shard not yet done, and how many were done already."""
    stream = open_input(opts.input_path)
    if stream is None and streams.stdin_isatty:
        raise UsageError("no input: give a JSONL file, or pipe the rows on stdin")
    label = "stdin" if stream is None else opts.input_path or "input"
    first_line: dict[str, int] = {}
    rows: list[Row] = []
    skipped = 0
    try:
        for number, data in iter_lines(stream or streams.stdin, label):
            row = parse_row(data, number, defaults)
            if row.id in first_line:
                raise UsageError(f"line {number}: id {row.id!r} is repeated (first on line "
                                 f"{first_line[row.id]}); nothing was sent")
            first_line[row.id] = number
            if not in_shard(number, opts.shard):
                continue
            if row.id in done:
                skipped += 1
            else:
                rows.append(row)
    finally:
        if stream is not None:
            stream.close()
    return rows, skipped


def learn_prices(rows: list[Row], settings: Settings, streams: Streams) -> dict[str, ModelPrices]:
    """Prices of every model the rows name, as chat's --max-cost learns them."""
    from orcli.commands.lookup import fetcher
    from orcli.models.catalog import cache_dir_from_env, models_facts

    names = models_named(rows)
    found = models_facts(names, base_url=settings.base_url,
                         cache_dir=cache_dir_from_env(streams.env),
                         fetch=fetcher(settings, streams), warn=streams.err)
    for facts in found:  # as chat's --max-cost refuses: unknown exits 4, variable 8
        if facts.prices.unknown:
            raise UnknownModelError(f"the prices of '{facts.prices.model}' are unknown (its "
                                    "catalog entry lists none), so --max-cost cannot be kept; "
                                    "nothing was sent")
        if facts.prices.is_variable:
            raise VariablePriceError(f"model '{facts.prices.model}' has variable prices, so "
                                     "--max-cost cannot be checked; nothing was sent")
    return {name: facts.prices for name, facts in zip(names, found, strict=True)}


def _worst_prices(body: dict[str, Any], prices: dict[str, ModelPrices]) -> ModelPrices:
    """The highest prompt and completion prices over every model the body lists."""
    return worst_case_prices([prices[m] for m in listed_models(body)])


def bound_worst_case(body: dict[str, Any], prices: dict[str, ModelPrices]) -> Decimal | None:
    """The worst case from a cheap token bound that needs no count; None when there is no
    such bound (tools) or no max_tokens. At least the exact worst case."""
    from orcli.request.guards import PromptSize

    max_tokens = body.get("max_tokens")
    bound = _prompt(body, PromptSize).upper_bound()
    if max_tokens is None or bound is None:
        return None
    return worst_case_cost(_worst_prices(body, prices), bound, max_tokens)


def exact_worst_case(body: dict[str, Any], prices: dict[str, ModelPrices]) -> Decimal | None:
    """The most this row can cost, from a real token count; None when it has no max_tokens."""
    from orcli.request.guards import PromptSize

    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        return None
    tokens = _prompt(body, PromptSize).count().tokens
    return worst_case_cost(_worst_prices(body, prices), tokens, max_tokens)


def _prompt(body: dict[str, Any], size: Any) -> Any:
    return size(str(body["model"]), body.get("messages") or [], body.get("tools"))


def result_cost(result: Result, row: Row, plan: Plan) -> Decimal | None:
    """What a finished row cost: `usage.cost`, else an estimate from known prices."""
    usage = result.usage
    if usage is None:
        return None
    if usage.cost is not None:
        return usage.cost
    from orcli.commands.lookup import estimated_cost

    model = result.model or str(row.body_dict().get("model"))
    return estimated_cost(model, usage.prompt_tokens, usage.completion_tokens, plan.settings,
                          plan.env)
