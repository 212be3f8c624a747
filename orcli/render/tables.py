"""Tables and detail pages on a terminal: `models`, `models show`, `price`.

Every cell is made safe (`safe_line`): ids, names and descriptions come from the
server. A table fits the terminal's width by wrapping cells inside their column
at spaces; no word is ever split, because each column is at least as wide as its
longest word. Only when even those words do not fit does the table grow wider
than the terminal (and the terminal wraps it), since ids are copied whole into
`-m`. rich is imported inside the functions, so piped output never loads it.
"""

from __future__ import annotations

import io
import os
import textwrap
from collections.abc import Sequence
from typing import Any

from orcli.render.iostreams import Streams
from orcli.render.text import safe_line, safe_text

MODEL_COLUMNS = ("id", "context", "$/M in", "$/M out", "name")
PRICE_COLUMNS = ("model", "input tokens", "output tokens", "$/M in", "$/M out", "total")
_MIN_NAME_WIDTH = 12
_GAP = 2  # spaces between two columns (rich's padding with pad_edge off)


def write_models_table(streams: Streams, rows: Sequence[Sequence[str]]) -> None:
    """The model list as a table for a terminal; plain text when colour is off (NO_COLOR)."""
    from rich.cells import cell_len

    rows = [[safe_line(cell) for cell in row] for row in rows]
    buffer = io.StringIO()
    console = _console(buffer, streams, color=streams.stdout_color)
    widths = [max([cell_len(t), *(cell_len(r[i]) for r in rows)])
              for i, t in enumerate(MODEL_COLUMNS[:4])]
    fixed = sum(widths) + _GAP * len(widths)
    # Ids are copied into -m and prices are read: never cut them, only the name gives
    # way (with "…"). On a very narrow terminal the lines wrap instead.
    console.width = max(console.width, fixed + _MIN_NAME_WIDTH)
    console.print(_models_table(rows, widths, console.width - fixed))
    streams.out(buffer.getvalue(), flush=True)


def _models_table(rows: list[list[str]], widths: list[int], name_width: int) -> Any:
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for i, (title, width) in enumerate(zip(MODEL_COLUMNS, widths, strict=False)):
        table.add_column(title, justify="right" if i else "left", no_wrap=True,
                         min_width=width, style="cyan" if i == 0 else None)
    table.add_column(MODEL_COLUMNS[4], no_wrap=True, overflow="ellipsis", max_width=name_width)
    for row in rows:
        table.add_row(*row)
    return table


def write_price_table(streams: Streams, rows: Sequence[Sequence[str]]) -> None:
    """`orcli price` estimates as a table for a terminal, cheapest first as given.

    Every cell is read or copied whole (the id into -m, the total, "(estimate)"), so
    when the rows are too wide, cells wrap at their spaces ("1,234" over
    "(estimate)"). When even that does not fit, each row stays on one line, wider
    than the terminal, rather than lose characters.
    """
    from rich.table import Table

    rows = [[safe_line(cell) for cell in row] for row in rows]
    buffer = io.StringIO()
    console = _console(buffer, streams, color=streams.stdout_color)
    widths = fit_widths([PRICE_COLUMNS, *rows], console.width - _GAP * (len(PRICE_COLUMNS) - 1))
    table = Table(box=None, header_style="bold", pad_edge=False)
    for i, (title, width) in enumerate(zip(PRICE_COLUMNS, widths, strict=True)):
        table.add_column(title, justify="right" if i else "left", width=width,
                         style="cyan" if i == 0 else None)
    for row in rows:
        table.add_row(*row)
    console.width = max(console.width, sum(widths) + _GAP * (len(widths) - 1))
    console.print(table)
    streams.out(buffer.getvalue(), flush=True)


def fit_widths(rows: Sequence[Sequence[str]], room: int) -> list[int]:
    """Column widths for `rows` within `room` cells, narrowing the columns with most slack.

    A column narrows to its longest word at most. When the narrowest layout still does
    not fit, the natural widths are kept: one line per row, nothing split.
    """
    from rich.cells import cell_len

    columns = list(zip(*rows, strict=True))
    natural = [max(cell_len(cell) for cell in column) for column in columns]
    least = [max(cell_len(word) for cell in column for word in [*cell.split(), ""])
             for column in columns]
    if sum(least) > room:
        return natural
    widths = list(natural)
    while sum(widths) > room:
        slack, i = max((w - m, i) for i, (w, m) in enumerate(zip(widths, least, strict=True)))
        widths[i] -= min(slack, sum(widths) - room)
    return widths


def wrap_lines(lines: Sequence[str], width: int, indent: int = 0) -> list[str]:
    """Lines made safe and wrapped at spaces to `width`, continued `indent` columns in.

    Words longer than a line are kept whole (the terminal wraps them) rather than split.
    """
    follow = " " * indent
    out: list[str] = []
    for line in lines:
        line = safe_text(line)
        out.extend(textwrap.wrap(line, width=max(width, indent + 20), subsequent_indent=follow,
                                 break_long_words=False, break_on_hyphens=False,
                                 drop_whitespace=True) or [line])
    return out


def stdout_width(streams: Streams) -> int:
    """The terminal's columns: COLUMNS when set, else the terminal's own, else 80."""
    columns = _terminal_width(streams)
    if columns:
        return columns
    try:
        return os.get_terminal_size(streams.stdout.fileno()).columns or 80
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return 80


def _console(buffer: io.StringIO, streams: Streams, color: bool) -> Any:
    """A rich Console drawing into `buffer` for stdout, styled only when `color`."""
    from rich.console import Console

    # markup/emoji off: model names and answers are data, and "[...]" or ":x:" in
    # one must print as is. The environment is the Streams' one, as everywhere.
    return Console(
        file=buffer, force_terminal=color, no_color=not color, width=_terminal_width(streams),
        markup=False, emoji=False, highlight=False, _environ=dict(streams.env),
    )


def _terminal_width(streams: Streams) -> int | None:
    """COLUMNS from the environment when set; None lets rich ask the terminal."""
    columns = streams.env.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


ENDPOINT_COLUMNS = ("provider", "tag", "quant", "context", "max out", "$/M in", "$/M out",
                    "p50 ms", "p50 tok/s", "uptime %")
_TEXT_COLUMNS = 3  # provider, tag, quantization: left-aligned; the numbers to the right


def write_endpoints_table(streams: Streams, rows: list[tuple[str, ...]]) -> None:
    """`orcli models endpoints` as a table for a terminal, in the order given."""
    from rich.cells import cell_len
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    widths = [max([cell_len(t), *(cell_len(r[i]) for r in rows)])
              for i, t in enumerate(ENDPOINT_COLUMNS)]
    for i, (title, width) in enumerate(zip(ENDPOINT_COLUMNS, widths, strict=True)):
        table.add_column(title, justify="left" if i < _TEXT_COLUMNS else "right", no_wrap=True,
                         min_width=width, style="cyan" if i == 0 else None)
    for row in rows:
        table.add_row(*(safe_line(cell) for cell in row))  # provider names are the server's
    buffer = io.StringIO()
    console = _console(buffer, streams, color=streams.stdout_color)
    # Tags go into --provider and --only as they are: on a narrow terminal the lines
    # wrap rather than cut a cell.
    console.width = max(console.width, sum(widths) + 2 * (len(widths) - 1))
    console.print(table)
    streams.out(buffer.getvalue(), flush=True)
