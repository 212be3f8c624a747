"""What the user sees: answer text, tool calls, the usage line.

The only module that may import rich, and only inside the functions that draw
on a terminal, so piped output never pays for it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from orcli.pricing import format_usd
from orcli.streams import Streams


def write_answer(streams: Streams, text: str) -> None:
    """The answer on stdout, plus a newline unless it already ends with one."""
    if text == "":
        return
    streams.out(text if text.endswith("\n") else text + "\n", flush=True)


def format_tool_calls(calls: list[dict[str, Any]]) -> str:
    """Tool calls as one JSON line: [{"id", "name", "arguments"}]."""
    return json.dumps(calls, ensure_ascii=False)


def parse_arguments(text: object) -> object:
    """Tool-call arguments as JSON; "" means {}; text that is not JSON stays text."""
    if not isinstance(text, str):
        return text if text is not None else {}
    if text.strip() == "":
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def usage_line(
    model: str, prompt_tokens: int | None, completion_tokens: int | None,
    cost: Decimal | None, estimated: bool,
) -> str:
    """The one line on stderr after an answer: model, tokens, dollars."""
    tokens = f"{_count(prompt_tokens)} in, {_count(completion_tokens)} out"
    if cost is None:
        money = "cost unknown"
    else:
        money = format_usd(cost) + (" (estimated)" if estimated else "")
    return f"orcli: {model}: {tokens} tokens, {money}"


def _count(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def write_usage(streams: Streams, line: str) -> None:
    """The usage line, dimmed on a colour terminal."""
    if streams.stderr_isatty and streams.color:
        line = f"\x1b[2m{line}\x1b[0m"
    streams.err(line)


def write_json(streams: Streams, value: Any) -> None:
    """A JSON document on stdout, UTF-8 as is, ending with a newline."""
    streams.out(json.dumps(value, ensure_ascii=False, indent=2) + "\n", flush=True)
