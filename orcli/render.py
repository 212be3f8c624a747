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


MODEL_COLUMNS = ("id", "context", "$/M in", "$/M out", "name")
_MIN_NAME_WIDTH = 12


def write_models_table(streams: Streams, rows: list[tuple[str, str, str, str, str]]) -> None:
    """The model list as a table for a terminal; plain text when colour is off (NO_COLOR)."""
    import io

    from rich.console import Console

    buffer = io.StringIO()
    # markup/emoji off: model names are data, and "[...]" in one must print as is.
    console = Console(
        file=buffer, force_terminal=streams.color, no_color=not streams.color,
        width=_terminal_width(streams), markup=False, emoji=False, highlight=False,
    )
    widths = [max([len(t), *(len(r[i]) for r in rows)]) for i, t in enumerate(MODEL_COLUMNS[:4])]
    fixed = sum(widths) + 2 * len(widths)  # two spaces between columns
    # Ids are copied into -m and prices are read: never cut them, only the name gives
    # way. On a very narrow terminal the lines wrap instead.
    console.width = max(console.width, fixed + _MIN_NAME_WIDTH)
    console.print(_models_table(rows, widths, console.width - fixed))
    streams.out(buffer.getvalue(), flush=True)


def _models_table(rows: list[tuple[str, str, str, str, str]], widths: list[int],
                  name_width: int) -> Any:
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for i, (title, width) in enumerate(zip(MODEL_COLUMNS, widths, strict=False)):
        table.add_column(title, justify="right" if i else "left", no_wrap=True,
                         min_width=width, style="cyan" if i == 0 else None)
    table.add_column(MODEL_COLUMNS[4], no_wrap=True, overflow="ellipsis", max_width=name_width)
    for row in rows:
        table.add_row(*row)
    return table


def _terminal_width(streams: Streams) -> int | None:
    """COLUMNS from the environment when set; None lets rich ask the terminal."""
    columns = streams.env.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


PRICE_COLUMNS = ("model", "input tokens", "output tokens", "$/M in", "$/M out", "total")


def write_price_table(streams: Streams, rows: list[tuple[str, str, str, str, str, str]]) -> None:
    """`orcli price` estimates as a table for a terminal, cheapest first as given."""
    import io

    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column(PRICE_COLUMNS[0], no_wrap=True, style="cyan")
    for title in PRICE_COLUMNS[1:]:
        table.add_column(title, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    buffer = io.StringIO()
    console = Console(
        file=buffer, force_terminal=streams.color, no_color=not streams.color,
        width=_terminal_width(streams), markup=False, emoji=False, highlight=False,
    )
    console.print(table)
    streams.out(buffer.getvalue(), flush=True)
