"""The `orcli spend` table for a terminal (rich, loaded only here)."""

from __future__ import annotations

import io

from orcli.render import _console
from orcli.render.iostreams import Streams

SPEND_COLUMNS = ("calls", "in tokens", "out tokens", "cost", "estimated")


def write_spend_table(streams: Streams, title: str,
                      rows: list[tuple[str, str, str, str, str, str]]) -> None:
    """The groups, then the total in bold; numbers right-aligned, long group names cut."""
    from rich.cells import cell_len
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False, show_footer=False)
    columns = (title, *SPEND_COLUMNS)
    widths = [max([cell_len(t), *(cell_len(r[i]) for r in rows)]) for i, t in enumerate(columns)]
    buffer = io.StringIO()
    console = _console(buffer, streams, color=streams.stdout_color)
    numbers = sum(widths[1:]) + 2 * len(SPEND_COLUMNS)
    # Figures are read whole; only the group name (a model id, a tag value) gives way.
    name_width = max(console.width - numbers, min(widths[0], 12))
    table.add_column(title, no_wrap=True, overflow="ellipsis", max_width=name_width,
                     style="cyan")
    for column, width in zip(SPEND_COLUMNS, widths[1:], strict=True):
        table.add_column(column, justify="right", no_wrap=True, min_width=width)
    for i, row in enumerate(rows):
        table.add_row(*row, style="bold" if i == len(rows) - 1 else None)
    console.width = max(console.width, numbers + min(widths[0], 12))
    console.print(table)
    streams.out(buffer.getvalue(), flush=True)
