"""Text that came from a server, made safe to show: answers, reasoning, the usage line.

A server's strings (answers, error messages, model names, descriptions) may hold
terminal escape sequences: OSC 52 writes the clipboard, OSC 2 the window title,
CSI moves the cursor or hides text. `safe_text` shows every control character
visibly, in Python's backslash notation (ESC is the four characters `\\x1b`,
U+009B is `\\x9b`, U+202E is `\\u202e`), so nothing a server sends can reach the
terminal as a command, and a reader can still see what was sent. Kept as they
are: newline and tab, and a carriage return that ends a line (CRLF).

What counts as a control: C0 (U+0000-U+001F but newline and tab), DEL and C1
(U+007F-U+009F; some terminals act on C1 as 8-bit CSI and OSC), a carriage return
not followed by a newline (it moves back to overwrite the line), and the bidi
embedding, override and isolate characters (U+202A-U+202E, U+2066-U+2069), which
reorder what the line appears to say.
"""

from __future__ import annotations

import re

DIM = "\x1b[2m"
RESET = "\x1b[0m"

_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]|\r(?!\n)")
_LINE_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """Text with every control character but newline and tab shown as `\\xNN`/`\\uNNNN`."""
    if text.isprintable():  # the common case, checked in C: nothing to replace
        return text
    return _CONTROLS.sub(_visible, text)


def safe_line(text: str) -> str:
    """One line of text: as `safe_text`, and newlines, tabs and CRs shown as `\\x0a` etc. too.

    For a value inside a line (a model name), where a newline would start a line of
    its own: a forged `orcli: error:` line, or a `::` workflow command in CI.
    """
    if text.isprintable():
        return text
    return _LINE_CONTROLS.sub(_visible, _CONTROLS.sub(_visible, text))


def shorten(text: str, width: int) -> str:
    """Text cut to `width` characters, the cut marked with "…"."""
    return text if len(text) <= width else text[: width - 1] + "…"


def dim(text: str, on: bool) -> str:
    """Text wrapped in the dim escape when `on` (a colour stream)."""
    return f"{DIM}{text}{RESET}" if on and text else text
