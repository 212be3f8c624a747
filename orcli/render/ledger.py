"""The `orcli spend` table for a terminal (rich, loaded only here)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from orcli.render.iostreams import Streams
from orcli.render.tables import _console
from orcli.render.text import safe_line

SPEND_COLUMNS = ("calls", "in tokens", "out tokens", "cost", "estimated")
_MIN_GROUP_WIDTH = 12
_GAP = 2


def write_spend_table(streams: Streams, title: str, rows: Sequence[Sequence[str]]) -> None:
    """The groups, the last row (the total) in bold; figures whole, long group names cut."""
    from rich.cells import cell_len
    from rich.table import Table

    rows = [[safe_line(cell) for cell in row] for row in rows]  # tag values, model names
    columns = (title, *SPEND_COLUMNS)
    widths = [max([cell_len(t), *(cell_len(r[i]) for r in rows)]) for i, t in enumerate(columns)]
    buffer = io.StringIO()
    console = _console(buffer, streams, color=streams.stdout_color)
    figures = sum(widths[1:]) + _GAP * len(SPEND_COLUMNS)
    # Figures are read whole; only the group name gives way (with "…"). On a very
    # narrow terminal the lines wrap instead.
    console.width = max(console.width, figures + min(widths[0], _MIN_GROUP_WIDTH))
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column(title, no_wrap=True, overflow="ellipsis",
                     max_width=console.width - figures, style="cyan")
    for column, width in zip(SPEND_COLUMNS, widths[1:], strict=True):
        table.add_column(column, justify="right", no_wrap=True, min_width=width)
    for i, row in enumerate(rows):
        table.add_row(*row, style="bold" if i == len(rows) - 1 else None)
    console.print(table)
    streams.out(buffer.getvalue(), flush=True)
