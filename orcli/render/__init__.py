"""What the user sees: answer text, tool calls, the usage line, tables, the spinner.

The only package that may import rich, and only inside the functions that draw
on a terminal, so piped output never pays for it. Whether a stream gets colour
is decided in `Streams` (stdout_color, stderr_color, spinner), never here.
Every string from a server is made safe here before a terminal sees it
(`safe_text`, in `orcli.render.text`); piped stdout stays byte for byte.
The modules: `text` (safe text, dim, the usage line), `tables` (models, price,
`models show`), `spinner`; this one writes answers, reasoning and JSON.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

from orcli.render.iostreams import Streams

# The other modules' names load on first use (PEP 562), so that `orcli --version`
# and every command that never draws a table or a spinner skip them.
_LAZY = {
    "orcli.render.spinner": ("SPINNER_FRAMES", "SPINNER_INTERVAL", "Spinner"),
    "orcli.render.tables": ("ENDPOINT_COLUMNS", "MODEL_COLUMNS", "PRICE_COLUMNS",
                            "stdout_width", "wrap_lines", "write_endpoints_table",
                            "write_models_table", "write_price_table"),
    "orcli.render.text": ("DIM", "RESET", "USAGE_MODEL_WIDTH", "answer_text", "dim",
                          "reasoning_text", "safe_line", "safe_text", "shorten", "usage_line"),
}
_HOME = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'orcli.render' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "CODE_THEME", "DIM", "ENDPOINT_COLUMNS", "MODEL_COLUMNS", "PRICE_COLUMNS", "RESET",
    "SPINNER_FRAMES",
    "SPINNER_INTERVAL", "Spinner", "USAGE_MODEL_WIDTH", "answer_text", "dim", "format_tool_calls",
    "markdown_wanted", "reasoning_text", "safe_line", "safe_text", "shorten", "stdout_width",
    "usage_line", "wrap_lines", "write_answer", "write_json", "write_markdown",
    "write_endpoints_table", "write_models_table", "write_price_table", "write_reasoning",
    "write_usage",
]

# Rich's ANSI theme uses the terminal's own palette, so code stays readable on
# light and dark backgrounds alike.
CODE_THEME = "ansi_dark"
# Characters JSON may carry raw that a terminal can act on (C1 controls, bidi
# overrides); written as \u escapes, the JSON means the same and shows safely.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def markdown_wanted(streams: Streams, plain: bool) -> bool:
    """Rendered Markdown only on a colour terminal, never into a pipe or with --plain.

    Without colour (NO_COLOR, --no-color) the answer is printed as is: Markdown
    source is already the plain-text form, and rendering it with no styles
    would only drop the emphasis marks.
    """
    return not plain and streams.stdout_color


def write_answer(streams: Streams, text: str, markdown: bool = False) -> None:
    """The answer on stdout, plus a newline unless it already ends with one.

    On a terminal it is made safe first (control characters shown visibly); into a
    pipe or a file it is written byte for byte.
    """
    if text == "":
        return
    if markdown:
        write_markdown(streams, text)
        return
    from orcli.render.text import answer_text

    text = answer_text(streams, text)
    streams.out(text if text.endswith("\n") else text + "\n", flush=True)


def write_markdown(streams: Streams, text: str) -> None:
    """The answer rendered as Markdown for the terminal, as wide as the terminal."""
    from rich.markdown import Markdown

    from orcli.render.tables import _console
    from orcli.render.text import safe_text

    markdown = Markdown(safe_text(text), code_theme=CODE_THEME)
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
    """The model's reasoning on stderr, made safe, dimmed on a colour terminal."""
    streams.err(text, dim=True)


def format_tool_calls(calls: list[dict[str, Any]]) -> str:
    """Tool calls as one JSON line: [{"id", "name", "arguments"}]."""
    return _json_safe(json.dumps(calls, ensure_ascii=False))


def write_usage(streams: Streams, line: str) -> None:
    """The usage line, dimmed on a colour terminal."""
    streams.err(line, dim=True)


def write_json(streams: Streams, value: Any) -> None:
    """A JSON document on stdout, UTF-8 as is, ending with a newline."""
    text = json.dumps(value, ensure_ascii=False, indent=2)
    # json.dumps already escapes C0 controls; on a terminal C1 and bidi ones too.
    streams.out((_json_safe(text) if streams.stdout_isatty else text) + "\n", flush=True)


def _json_safe(text: str) -> str:
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
