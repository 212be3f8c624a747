"""`orcli key` (the key's limit, usage and rate limit) and `orcli generation ID`.

Both print the API's `data` object with --json, else one `label: value` line per
fact; every value from the server is squeezed onto one printable line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from orcli import render
from orcli.errors import ExitStatus, OrcliError
from orcli.models.pricing import format_usd
from orcli.options import CommandOptions
from orcli.render.iostreams import Streams
from orcli.response.events import parse_cost
from orcli.store.config import Settings, load_settings

_LABEL_WIDTH = 15


class KeyOptions(CommandOptions, frozen=True):
    json_out: bool = False
    min_remaining: Decimal | None = None


class GenerationOptions(CommandOptions, frozen=True):
    generation_id: str = ""
    json_out: bool = False
    no_ledger: bool = False
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def run_key(opts: KeyOptions, streams: Streams) -> int:
    """Show the key's state; exit 5 when less than --min-remaining is left."""
    from orcli.http.account import fetch_key

    settings = load_settings(opts.settings_flags, streams.env, streams.err)
    data = fetch_key(_client(settings, opts, streams))
    if opts.json_out:
        render.write_json(streams, data)
    else:
        streams.out("".join(line + "\n" for line in describe_key(data)), flush=True)
    remaining = _amount(data.get("limit_remaining"))
    if opts.min_remaining is not None and remaining is not None \
            and remaining < opts.min_remaining:
        raise OrcliError(f"the key has {format_usd(remaining)} left, less than --min-remaining "
                         f"{format_usd(opts.min_remaining)}", ExitStatus.PAYMENT)
    return ExitStatus.OK


def describe_key(data: dict[str, Any]) -> list[str]:
    """The lines of `orcli key`."""
    limit = _money(data.get("limit"))
    reset = data.get("limit_reset")
    if data.get("limit") is None:
        limit = "none"
    elif reset:
        limit += f" (resets {_safe(reset)})"
    remaining = "no limit" if data.get("limit_remaining") is None \
        else _money(data.get("limit_remaining"))
    usage = ", ".join(f"{_money(data.get(key))} {when}" for key, when in (
        ("usage", "total"), ("usage_daily", "today"), ("usage_weekly", "this week"),
        ("usage_monthly", "this month")) if key == "usage" or key in data)
    facts = [("label", _safe(data.get("label"))), ("limit", limit), ("remaining", remaining),
             ("usage", usage), ("free tier", _yes_no(data.get("is_free_tier")))]
    rate = data.get("rate_limit")
    if isinstance(rate, dict) and rate.get("requests") is not None:
        facts.append(("rate limit", f"{_safe(rate.get('requests'))} requests per "
                                    f"{_safe(rate.get('interval'))}"))
    return [f"{label + ':':<{_LABEL_WIDTH}}{value}" for label, value in facts]


def run_generation(opts: GenerationOptions, streams: Streams) -> int:
    """Show one generation's stats; its ledger record takes the billed cost."""
    from orcli.http.account import fetch_generation

    settings = load_settings(opts.settings_flags, streams.env, streams.err)
    data = fetch_generation(_client(settings, opts, streams), opts.generation_id,
                            sleep=opts.sleep, clock=opts.clock)
    billed = parse_cost(data.get("total_cost"))
    if billed is not None and not opts.no_ledger:
        store_billed_cost(opts.generation_id, billed, settings, streams)
    if opts.json_out:
        render.write_json(streams, data)
    else:
        streams.out("".join(line + "\n" for line in describe_generation(data)), flush=True)
    return ExitStatus.OK


def store_billed_cost(generation_id: str, billed: Decimal, settings: Settings,
                      streams: Streams) -> None:
    """The ledger's record of this generation takes the billed cost; a failure only warns."""
    from orcli.store.ledger import LedgerError, open_ledger

    ledger = open_ledger(streams.env, settings.ledger, streams.err)
    if ledger is None:
        return
    try:
        ledger.set_billed_cost(generation_id, billed, settings.base_url)
    except LedgerError as exc:
        streams.err(f"orcli: warning: {exc.message}; the billed cost is not stored")
    finally:
        ledger.close()


def describe_generation(data: dict[str, Any]) -> list[str]:
    """The lines of `orcli generation`."""
    tokens = f"{_count(data.get('native_tokens_prompt'))} in, " \
             f"{_count(data.get('native_tokens_completion'))} out (native)"
    extra = [f"{_count(data.get(key))} {name}" for key, name in (
        ("native_tokens_reasoning", "reasoning"), ("native_tokens_cached", "cached"))
        if data.get(key)]
    latency = f"{_count(data.get('latency'))} ms"
    if data.get("generation_time") is not None:
        latency += f" (generating {_count(data.get('generation_time'))} ms)"
    facts = [("id", _safe(data.get("id"))), ("model", _safe(data.get("model"))),
             ("provider", _safe(data.get("provider_name"))),
             ("tokens", tokens + (f"; {', '.join(extra)}" if extra else "")),
             ("cost", _money(data.get("total_cost"))), ("latency", latency),
             ("finish reason", _safe(data.get("finish_reason")))]
    if data.get("cancelled"):
        facts.append(("cancelled", "yes"))
    return [f"{label + ':':<{_LABEL_WIDTH}}{value}" for label, value in facts]


def _client(settings: Settings, opts: CommandOptions, streams: Streams) -> Any:
    from orcli.app import client_for

    return client_for(streams, settings, debug=streams.err if opts.debug else None,
                      notify=streams.err)


def _amount(value: object) -> Decimal | None:
    """A dollar figure of GET /key, which may be below 0 (a key used past its limit)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        negative = parse_cost(-value)
        return None if negative is None else -negative
    return parse_cost(value)


def _money(value: object) -> str:
    amount = _amount(value)
    return "unknown" if amount is None else format_usd(amount)


def _count(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "?"
    return f"{value:,.0f}"


def _yes_no(value: object) -> str:
    return "yes" if value is True else "no" if value is False else "unknown"


def _safe(value: object) -> str:
    """A server's value on one line, controls shown visibly, at most 200 characters."""
    if value is None:
        return "unknown"
    from orcli.errors import squeeze
    from orcli.render.text import safe_line

    return safe_line(squeeze(str(value), 200))
