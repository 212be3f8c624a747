"""`orcli price`: what a prompt would cost, before it is sent.

One estimate per model (-m, then each --compare), cheapest total first; models
with variable prices (openrouter/auto) come last. Output:

- on a terminal: a table; counts that are not exact say "(estimate)";
- piped: one tab-separated line per model, no header, no colour:
  `MODEL  INPUT_TOKENS  OUTPUT_TOKENS  exact|estimate  TOTAL_USD`, e.g.
  `mistralai/devstral-2512\t5\t0\texact\t0.000002`. TOTAL_USD is a plain
  decimal (no "$", no exponent, no trailing zeros), or `variable`;
- `--json`: one object per model per line, numbers as exact JSON numbers;
  a model with variable prices has null prices and costs.

A model with variable prices is listed, not refused: a note on stderr says why
it has no cost, and the exit status stays 0, so a --compare list still prints.
The default model is priced from its built-in entry: no key, no network.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from msgspec import Struct

from orcli import render
from orcli.commands.lookup import fetcher
from orcli.errors import ExitStatus, UsageError
from orcli.io.inputs import gather_messages
from orcli.models.calibration import Calibration, apply, count_label
from orcli.models.catalog import cache_dir_from_env, models_facts
from orcli.models.pricing import (
    UNKNOWN,
    VARIABLE,
    Costs,
    ModelPrices,
    cost,
    dumps_json,
    format_decimal,
    format_usd,
    price_text,
)
from orcli.options import PriceOptions
from orcli.render.iostreams import Streams
from orcli.store.config import Settings, load_settings


class Estimate(Struct, frozen=True):
    """One model's estimate; `costs` is None when its prices are variable."""

    prices: ModelPrices
    input_tokens: int
    output_tokens: int
    exact: bool
    costs: Costs | None
    calibration: Calibration | None = None  # what scaled an estimate, if anything

    @property
    def label(self) -> str:
        """"exact", "estimate" or "estimate (calibrated on N calls)"."""
        return count_label(self.exact, self.calibration)

    def as_json(self) -> dict[str, Any]:
        """The --json object, keys in SPEC order; "calibrated_on" only for a calibrated one."""
        costs = self.costs
        record = {
            "model": self.prices.model, "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens, "token_count": self.label,
            "prompt_price_per_million": self.prices.prompt_per_million,
            "completion_price_per_million": self.prices.completion_per_million,
            "input_cost": costs.input_cost if costs else None,
            "output_cost": costs.output_cost if costs else None,
            "total_cost": costs.total if costs else None,
            "currency": "USD",
        }
        if self.calibration is not None:
            record["token_count"] = "estimate"
            record["calibrated_on"] = self.calibration.calls
        return record


# Where calibrations come from: the model id -> its Calibration, or None. The ledger
# provides the real one; price stays runnable (and testable) without it.
CalibrationSource = Callable[[str], "Calibration | None"]


def no_calibration(model: str) -> Calibration | None:
    """The source used when no ledger is wired in: every estimate stays plain."""
    return None


def run_price(
    opts: PriceOptions, streams: Streams, calibration_for: CalibrationSource | None = None
) -> int:
    """Estimate the cost for the model and each --compare model.

    Estimates are calibrated from the ledger's billed calls unless a source is given.
    """
    settings = load_settings(opts.settings_flags, streams.env, streams.err)
    if calibration_for is None:
        calibration_for = _ledger_source(settings, streams)
    # Input first: a usage error should not wait for the catalog.
    messages = read_input(opts, streams)
    model_ids = list(dict.fromkeys([settings.model, *opts.compare]))
    priced = lookup_prices(model_ids, settings, streams, opts.refresh, opts.debug)
    estimates = sorted((estimate(p, messages, opts, calibration_for) for p in priced),
                       key=_cheapest_first)
    for item in estimates:
        note_problems(item, streams)
    write_estimates(estimates, opts, streams)
    return ExitStatus.OK


def _ledger_source(settings: Settings, streams: Streams) -> CalibrationSource:
    from orcli.commands.ledgering import ledger_calibration
    from orcli.store.ledger import open_ledger

    ledger = open_ledger(streams.env, settings.ledger, streams.err)
    return lambda model: ledger_calibration(ledger, model)


def note_problems(item: Estimate, streams: Streams) -> None:
    """Notes on stderr for what the figures cannot show: no price, or a call that would fail."""
    model, context = item.prices.model, item.prices.context_length
    if item.costs is None and item.prices.unknown:
        streams.err(f"orcli: note: {model} lists no prices (as local servers' catalogs do), "
                    "so no cost can be estimated")
    elif item.costs is None:
        streams.err(f"orcli: note: {model} has variable prices (they depend on "
                    "the model it routes to), so no cost can be estimated")
    if context is not None and item.input_tokens > context:
        # Still priced (the figure answers the question asked), but chat would refuse it.
        streams.err(f"orcli: note: the input is {item.input_tokens - context:,} tokens over "
                    f"{model}'s context of {context:,}; chat would refuse it (exit 8)")


def read_input(opts: PriceOptions, streams: Streams) -> list[dict[str, Any]] | None:
    """The messages to count, as chat builds them; None when --input-tokens gives the count."""
    if opts.input_tokens is None:
        return gather_messages(opts, streams)
    if opts.words or opts.files or opts.messages_path is not None or opts.system is not None:
        raise UsageError("--input-tokens replaces TEXT, -f, --messages and -s; give one or "
                         "the other")
    return None  # piped stdin is left unread: the count is given


def lookup_prices(
    model_ids: list[str], settings: Settings, streams: Streams, refresh: bool, debug: bool
) -> list[ModelPrices]:
    """Built-in prices, else the catalog: a cache from within the hour, else one fetch.

    The catalog is loaded once for all the models (`models_facts`), so an outage costs
    one round of retries and one "offline" note however many --compare models there are.
    """
    facts = models_facts(model_ids, base_url=settings.base_url,
                         cache_dir=cache_dir_from_env(streams.env),
                         fetch=fetcher(settings, streams, debug), warn=streams.err,
                         refresh=refresh)
    return [f.prices for f in facts]


def estimate(
    prices: ModelPrices, messages: list[dict[str, Any]] | None, opts: PriceOptions,
    calibration_for: CalibrationSource = no_calibration,
) -> Estimate:
    """Count the input for this model (or take --input-tokens) and price both sides.

    An estimate is scaled by the model's calibration when there is one; exact counts
    and the user's own --input-tokens never are.
    """
    calibration = None
    if messages is None:
        # The user's own number is taken as exact: there is nothing to estimate.
        tokens, exact = opts.input_tokens or 0, True
    else:
        from orcli.models.tokens import count_prompt

        counted = count_prompt(prices.model, messages)
        tokens, exact = counted.tokens, counted.exact
        if not exact:
            calibration = calibration_for(prices.model)
            tokens = apply(tokens, calibration)
    costs = None if prices.is_variable else cost(prices, tokens, opts.output_tokens)
    return Estimate(prices, tokens, opts.output_tokens, exact, costs, calibration)


def _cheapest_first(item: Estimate) -> tuple[bool, Any]:
    # sorted() is stable, so equal totals keep the order the models were given in.
    return (item.costs is None, item.costs.total if item.costs else 0)


def write_estimates(estimates: list[Estimate], opts: PriceOptions, streams: Streams) -> None:
    """JSON lines, a table on a terminal, or tab-separated lines when piped."""
    if opts.json_out:
        streams.out("".join(dumps_json(e.as_json()) + "\n" for e in estimates), flush=True)
    elif streams.stdout_isatty:
        render.write_price_table(streams, [table_row(e) for e in estimates])
    else:
        streams.out("".join(plain_line(e) + "\n" for e in estimates), flush=True)


def plain_line(item: Estimate) -> str:
    """MODEL, INPUT_TOKENS, OUTPUT_TOKENS, exact|estimate, TOTAL_USD, tab-separated."""
    total = format_decimal(item.costs.total) if item.costs else _no_cost(item)
    fields = [item.prices.model, str(item.input_tokens), str(item.output_tokens), item.label,
              total]
    return "\t".join(fields)


def table_row(item: Estimate) -> tuple[str, str, str, str, str, str]:
    """The cells of one table row; the input count says whether it is exact."""
    return (
        item.prices.model,
        # "(estimate)", or "estimate (calibrated on N calls)" without nested brackets.
        f"{item.input_tokens:,} " + (item.label if item.calibration else f"({item.label})"),
        f"{item.output_tokens:,}",
        price_text(item.prices, item.prices.prompt),
        price_text(item.prices, item.prices.completion),
        format_usd(item.costs.total) if item.costs else _no_cost(item),
    )


def _no_cost(item: Estimate) -> str:
    return UNKNOWN if item.prices.unknown else VARIABLE
