"""What the user sees: answer text, tool calls, the usage line, tables, the spinner.

The only module that may import rich, and only inside the functions that draw
on a terminal, so piped output never pays for it. Whether a stream gets colour
is decided in `Streams` (stdout_color, stderr_color, spinner), never here.
The dim usage line and reasoning are one hand-written escape code each, and the
spinner is a thread writing carriage-return frames: they run on every terminal
call, so they must not load rich.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import threading
from decimal import Decimal
from typing import Any

from orcli.models.pricing import format_usd
from orcli.render.iostreams import Streams

DIM = "\x1b[2m"
RESET = "\x1b[0m"
# Rich's ANSI theme uses the terminal's own palette, so code stays readable on
# light and dark backgrounds alike.
CODE_THEME = "ansi_dark"


def dim(text: str, on: bool) -> str:
    """Text wrapped in the dim escape when `on` (a colour stream)."""
    return f"{DIM}{text}{RESET}" if on and text else text


def markdown_wanted(streams: Streams, plain: bool) -> bool:
    """Rendered Markdown only on a colour terminal, never into a pipe or with --plain.

    Without colour (NO_COLOR, --no-color) the answer is printed as is: Markdown
    source is already the plain-text form, and rendering it with no styles
    would only drop the emphasis marks.
    """
    return not plain and streams.stdout_color


def write_answer(streams: Streams, text: str, markdown: bool = False) -> None:
    """The answer on stdout, plus a newline unless it already ends with one."""
    if text == "":
        return
    if markdown:
        write_markdown(streams, text)
        return
    streams.out(text if text.endswith("\n") else text + "\n", flush=True)


def write_markdown(streams: Streams, text: str) -> None:
    """The answer rendered as Markdown for the terminal, as wide as the terminal."""
    from rich.markdown import Markdown

    markdown = Markdown(text, code_theme=CODE_THEME)
    _keep_line_breaks(markdown.parsed)
    buffer = io.StringIO()
    _console(buffer, streams, color=True).print(markdown)
    # Rich pads every line to the full width; unstyled padding would only come
    # along as trailing spaces when the answer is copied from the terminal.
    lines = buffer.getvalue().split("\n")
    streams.out("\n".join(line.rstrip(" ") for line in lines), flush=True)


def _keep_line_breaks(tokens: list[Any]) -> None:
    # A model's single newlines are meant as line breaks (verse, addresses, steps),
    # as chat UIs show them; CommonMark would join such lines into one paragraph.
    for token in tokens:
        if token.type == "softbreak":
            token.type = "hardbreak"
        if token.children:
            _keep_line_breaks(token.children)


def write_reasoning(streams: Streams, text: str) -> None:
    """The model's reasoning on stderr, dimmed on a colour terminal to set it apart."""
    streams.err(dim(text, streams.stderr_color))


def format_tool_calls(calls: list[dict[str, Any]]) -> str:
    """Tool calls as one JSON line: [{"id", "name", "arguments"}]."""
    return json.dumps(calls, ensure_ascii=False)


def usage_line(
    model: str, prompt_tokens: int | None, completion_tokens: int | None,
    cost: Decimal | None, estimated: bool, cached: bool = False,
) -> str:
    """The one line on stderr after an answer: model, tokens, dollars; `(cached)` on a HIT."""
    tokens = f"{_count(prompt_tokens)} in, {_count(completion_tokens)} out"
    if cost is None:
        money = "cost unknown"
    else:
        money = format_usd(cost) + (" (estimated)" if estimated else "")
    return f"orcli: {model}: {tokens} tokens, {money}" + (" (cached)" if cached else "")


def _count(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def write_usage(streams: Streams, line: str) -> None:
    """The usage line, dimmed on a colour terminal."""
    streams.err(dim(line, streams.stderr_color))


def write_json(streams: Streams, value: Any) -> None:
    """A JSON document on stdout, UTF-8 as is, ending with a newline."""
    streams.out(json.dumps(value, ensure_ascii=False, indent=2) + "\n", flush=True)


MODEL_COLUMNS = ("id", "context", "$/M in", "$/M out", "name")
_MIN_NAME_WIDTH = 12


def write_models_table(streams: Streams, rows: list[tuple[str, str, str, str, str]]) -> None:
    """The model list as a table for a terminal; plain text when colour is off (NO_COLOR)."""
    buffer = io.StringIO()
    console = _console(buffer, streams, color=streams.stdout_color)
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


PRICE_COLUMNS = ("model", "input tokens", "output tokens", "$/M in", "$/M out", "total")


def write_price_table(streams: Streams, rows: list[tuple[str, str, str, str, str, str]]) -> None:
    """`orcli price` estimates as a table for a terminal, cheapest first as given."""
    from rich.cells import cell_len
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    widths = [max([cell_len(t), *(cell_len(r[i]) for r in rows)])
              for i, t in enumerate(PRICE_COLUMNS)]
    for i, (title, width) in enumerate(zip(PRICE_COLUMNS, widths, strict=True)):
        table.add_column(title, justify="right" if i else "left", no_wrap=True,
                         min_width=width, style="cyan" if i == 0 else None)
    for row in rows:
        table.add_row(*row)
    buffer = io.StringIO()
    console = _console(buffer, streams, color=streams.stdout_color)
    # Every cell is read or copied whole (the id into -m, the total, the "(estimate)"
    # label), and none can give way as the models' names do: on a terminal too narrow
    # for the row, the lines wrap rather than lose characters.
    console.width = max(console.width, sum(widths) + 2 * (len(widths) - 1))
    console.print(table)
    streams.out(buffer.getvalue(), flush=True)


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
        table.add_row(*row)
    buffer = io.StringIO()
    console = _console(buffer, streams, color=streams.stdout_color)
    # Tags go into --provider and --only as they are: on a narrow terminal the lines
    # wrap rather than cut a cell.
    console.width = max(console.width, sum(widths) + 2 * (len(widths) - 1))
    console.print(table)
    streams.out(buffer.getvalue(), flush=True)


SPINNER_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPINNER_INTERVAL = 0.08  # seconds; the first frame waits this long, so quick answers never flash


class Spinner:
    """A spinner on stderr while orcli waits for the first byte of the answer.

    Does nothing unless `streams.spinner` (stdout and stderr both terminals).
    It draws with a carriage return and erases by overwriting with spaces, so it
    needs no escape codes. `stop()` must come before any output; after it
    returns the spinner never writes again. Lines that must appear while it
    spins (retry notes, --debug) go through `line()`, which erases it first.
    """

    def __init__(self, streams: Streams, label: str) -> None:
        self.streams = streams
        self.label = label
        self._lock = threading.Lock()  # one writer at a time: the spinner or line()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = 0  # characters of the frame on screen; 0 = nothing to erase

    def start(self) -> Spinner:
        if self.streams.spinner and self._thread is None and not self._stopped.is_set():
            self._thread = threading.Thread(target=self._spin, name="orcli-spinner", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Erase the spinner and end its thread; cheap and safe to call again."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        with self._lock:
            self._erase()
        if self._thread is not None:
            self._thread.join()

    def line(self, text: str) -> None:
        """One stderr line that must not run into the spinner's frame."""
        with self._lock:
            self._erase()
            self.streams.err(text)

    def _spin(self) -> None:
        width = _stderr_width(self.streams) - 1  # a full-width line would wrap, and \r with it
        for frame in itertools.cycle(SPINNER_FRAMES):
            if self._stopped.wait(SPINNER_INTERVAL):
                return
            text = f"{frame} {self.label}"[:width]
            with self._lock:
                if self._stopped.is_set():
                    return
                self._write("\r" + dim(text, self.streams.stderr_color))
                self._drawn = len(text)

    def _erase(self) -> None:
        if self._drawn:
            self._write("\r" + " " * self._drawn + "\r")
            self._drawn = 0

    def _write(self, text: str) -> None:
        self.streams.stderr.write(text.encode("utf-8", "replace"))
        self.streams.stderr.flush()


def _stderr_width(streams: Streams) -> int:
    try:
        return os.get_terminal_size(streams.stderr.fileno()).columns or 80
    except (OSError, ValueError, AttributeError):
        return 80
