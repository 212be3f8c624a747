"""The events of a streamed answer, and the usage object both kinds of answer share.

Pure: the stream reader (`orcli.http.chunks`) makes these from OpenRouter's chunks;
`orcli.response.result` folds them into one `Result`.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias

from msgspec import Struct, field

# A cost past these bounds is no price a provider charged: a hostile or broken
# server's number, read as unknown rather than carried into sums and JSON.
_MAX_COST = Decimal(10) ** 9
_MIN_COST_EXPONENT = -30


class Content(Struct, frozen=True):
    text: str


class Reasoning(Struct, frozen=True):
    text: str


class ToolCall(Struct, frozen=True):
    id: str
    name: str
    arguments: object  # parsed JSON; the raw string when it does not parse
    raw_arguments: str = ""  # as sent, for conversation files


class Usage(Struct, frozen=True):
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal | None
    raw: dict[str, Any] = field(default_factory=dict)
    reasoning_tokens: int = 0
    cached_tokens: int = 0


class Done(Struct, frozen=True):
    finish_reason: str | None
    id: str | None
    model: str | None
    provider: str | None = None
    reasoning_details: tuple[dict[str, Any], ...] = ()


Event: TypeAlias = Content | Reasoning | ToolCall | Usage | Done


def parse_arguments(text: object) -> object:
    """Tool-call arguments as JSON; "" (or none) means {}; text that is not JSON stays text."""
    if not isinstance(text, str):
        return {} if text is None else text
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def parse_usage(usage: dict[str, Any]) -> Usage:
    """Token counts and cost from a `usage` object; odd values read as 0 and no cost."""
    prompt_details = usage.get("prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    return Usage(
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
        cost=parse_cost(usage.get("cost")),
        raw=usage,
        reasoning_tokens=_detail(completion_details, "reasoning_tokens"),
        cached_tokens=_detail(prompt_details, "cached_tokens"),
    )


def _detail(details: object, key: str) -> int:
    return _count(details.get(key)) if isinstance(details, dict) else 0


def _count(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value < 2**63 else 0
    if isinstance(value, float) and value.is_integer() and 0 <= value < 2**63:
        return int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return _count(int(value.strip()[:19]))  # some servers send counts as strings
    return 0


def parse_cost(value: object) -> Decimal | None:
    """A `usage.cost` as Decimal; absurd or unreadable values are unknown (None)."""
    # str() of a float is its shortest round-tripping form, so 0.0000152
    # becomes Decimal("0.0000152"), not the binary float's long expansion.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    text = str(value).strip()
    if len(text) > 64:
        return None
    try:
        cost = Decimal(text)
    except InvalidOperation:
        return None
    if not cost.is_finite() or cost < 0 or cost > _MAX_COST:
        return None
    if cost and cost.adjusted() < _MIN_COST_EXPONENT:
        return Decimal(0)
    return cost
