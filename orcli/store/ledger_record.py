"""One ledger record: what a call cost and how it went, never what was said.

A record holds no prompt, no answer and no key: only ids, counts, money and
tags. Money is Decimal, written as exact text (`format_decimal`), so a record
read back, exported or imported sums to the same cents.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from msgspec import Struct, field
from msgspec.structs import asdict, fields

from orcli.models.pricing import ModelPrices, cost, format_decimal
from orcli.response.result import Result

BILLED = "billed"  # usage.cost, or GET /generation's total_cost
ESTIMATED = "estimated"  # tokens times the catalog's prices
UNKNOWN = "unknown"
COST_SOURCES = (BILLED, ESTIMATED, UNKNOWN)
COUNT_KINDS = ("exact", "estimate")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width, so text order is time order


class LedgerRecord(Struct):
    """One answered request (a success, an error reply, a cut stream)."""

    time: str  # UTC, TIME_FORMAT
    command: str  # chat, stream, batch
    base_url: str
    model_asked: str
    exit_code: int
    model_served: str | None = None
    provider: str | None = None
    generation_id: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    cached_tokens: int | None = None
    cost: Decimal | None = None
    cost_source: str = UNKNOWN
    worst_case: Decimal | None = None  # the pre-flight worst case, when one was computed
    duration_ms: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    batch_id: str | None = None
    row_id: str | None = None
    # orcli's own count of the prompt, beside the billed prompt_tokens (calibration).
    counted_prompt_tokens: int | None = None
    count_kind: str | None = None  # "exact" or "estimate"
    record_id: str = field(default_factory=lambda: new_record_id())

    def to_json(self) -> dict[str, Any]:
        """The record as an export line's object; Decimals stay Decimal (use dumps_json)."""
        return asdict(self)


def new_record_id() -> str:
    """A random (version 4) UUID as text; without the uuid module, which costs ~4 ms to load."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def utc_text(moment: datetime | None = None) -> str:
    """A moment (now by default) as the ledger's UTC time text."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def record_from_result(
    result: Result | None, *, command: str, base_url: str, model_asked: str, exit_code: int,
    prices: ModelPrices | None = None, worst_case: Decimal | None = None,
    duration_ms: int | None = None, tags: Mapping[str, str] | None = None,
    batch_id: str | None = None, row_id: str | None = None,
    counted_prompt_tokens: int | None = None, count_kind: str | None = None,
    generation_id: str | None = None, model_served: str | None = None,
    provider: str | None = None, partial_completion_tokens: int | None = None,
    now: datetime | None = None,
) -> LedgerRecord:
    """The record of one call: from its Result, or from None for an error reply.

    The cost is billed when the answer had `usage.cost`, else estimated from
    `prices` (the served model's) when given and known, else unknown. A cut or
    interrupted stream has no usage: with `counted_prompt_tokens` and
    `partial_completion_tokens` (orcli's count of the text that came) its cost is
    estimated all the same, until `spend --reconcile` fetches the bill.
    `generation_id`, `model_served` and `provider` stand in where the Result has none
    (an error reply, a stream cut before its end, which the SSE reader still saw).
    """
    usage = result.usage if result else None
    amount, source = _cost_of(result, prices, counted_prompt_tokens, partial_completion_tokens)
    return LedgerRecord(
        time=utc_text(now), command=command, base_url=base_url, model_asked=model_asked,
        exit_code=int(exit_code), model_served=(result.model if result else None) or model_served,
        provider=(result.provider if result else None) or provider,
        generation_id=(result.id if result and result.id else generation_id),
        prompt_tokens=usage.prompt_tokens if usage else None,
        completion_tokens=usage.completion_tokens if usage else None,
        reasoning_tokens=usage.reasoning_tokens if usage else None,
        cached_tokens=usage.cached_tokens if usage else None,
        cost=amount, cost_source=source, worst_case=worst_case, duration_ms=duration_ms,
        tags=dict(tags or {}), batch_id=batch_id, row_id=row_id,
        counted_prompt_tokens=counted_prompt_tokens, count_kind=count_kind,
    )


def _cost_of(result: Result | None, prices: ModelPrices | None, counted_prompt: int | None,
             partial_completion: int | None) -> tuple[Decimal | None, str]:
    usage = result.usage if result else None
    if usage is not None and usage.cost is not None:
        return usage.cost, BILLED
    if prices is None or prices.is_variable:
        return None, UNKNOWN
    if usage is not None:
        return cost(prices, usage.prompt_tokens, usage.completion_tokens).total, ESTIMATED
    if counted_prompt is not None and partial_completion is not None:
        return cost(prices, counted_prompt, partial_completion).total, ESTIMATED
    return None, UNKNOWN


_FIELDS = {f.name: f for f in fields(LedgerRecord)}
_REQUIRED = ("time", "command", "base_url", "model_asked", "exit_code", "record_id")
_INTS = ("exit_code", "prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_tokens",
         "duration_ms", "counted_prompt_tokens")
_MONEY = ("cost", "worst_case")


class RecordError(ValueError):
    """An export line that is not a ledger record; the message says which field."""


def record_from_json(obj: object) -> LedgerRecord:
    """A record from an export line's parsed object (numbers parsed as Decimal)."""
    if not isinstance(obj, dict):
        raise RecordError("not a JSON object")
    missing = [name for name in _REQUIRED if obj.get(name) is None]
    if missing:
        raise RecordError(f"no {missing[0]!r}")
    values = {k: v for k, v in obj.items() if k in _FIELDS}  # fields of a newer orcli: dropped
    for name in _INTS:
        values[name] = _int_field(values.get(name), name)
    for name in _MONEY:
        values[name] = money_from_text(values.get(name), name)
    values["tags"] = _tags_field(values.get("tags"))
    for name, value in values.items():
        if name not in _INTS + _MONEY + ("tags",) and value is not None \
                and not isinstance(value, str):
            raise RecordError(f"{name!r} is not text")
    if values.get("cost_source", UNKNOWN) not in COST_SOURCES:
        raise RecordError(f"cost_source must be one of {', '.join(COST_SOURCES)}")
    _check_time(values["time"])
    return LedgerRecord(**values)


def _int_field(value: object, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise RecordError(f"{name!r} is not a whole number")


def money_from_text(value: object, name: str = "cost") -> Decimal | None:
    """A stored or exported amount (text or Decimal) as Decimal; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | Decimal | int):
        raise RecordError(f"{name!r} is not an amount")
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise RecordError(f"{name!r} is not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise RecordError(f"{name!r} is not an amount")
    return amount


def money_text(amount: Decimal | None) -> str | None:
    """An amount as the exact text the database stores."""
    return None if amount is None else format_decimal(amount)


def _tags_field(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise RecordError("'tags' is not an object of text values")
    return dict(value)


def _check_time(text: str) -> None:
    try:
        datetime.strptime(text, TIME_FORMAT)
    except ValueError:
        raise RecordError(f"'time' is not UTC time like 2026-01-31T12:00:00.000000Z: "
                          f"{text[:40]!r}") from None
