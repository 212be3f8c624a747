"""Answers, reasoning and the usage line as each stream should get them (see escapes)."""

from __future__ import annotations

from decimal import Decimal

from orcli.models.pricing import format_usd
from orcli.render.escapes import DIM, RESET, dim, safe_line, safe_text, shorten
from orcli.render.iostreams import Streams

# The longest model name the usage line shows; ids are far shorter, and a server
# that names its model with 50 MB must not make a 50 MB line.
USAGE_MODEL_WIDTH = 120

__all__ = ["DIM", "RESET", "dim", "safe_line", "safe_text", "shorten"]


def answer_text(streams: Streams, text: str) -> str:
    """Answer text as stdout should get it: made safe on a terminal, byte for byte in a pipe."""
    return safe_text(text) if streams.stdout_isatty else text


def reasoning_text(streams: Streams, text: str) -> str:
    """Reasoning as stderr should get it: made safe always (CI logs show escapes too), dimmed
    on a colour stream."""
    return dim(safe_text(text), streams.stderr_color)


def usage_line(
    model: str, prompt_tokens: int | None, completion_tokens: int | None,
    cost: Decimal | None, estimated: bool, cached: bool = False,
) -> str:
    """The one line on stderr after an answer: model, tokens, dollars; `(cached)` on a HIT.

    The model is the one that served, as the server named it: made safe and cut
    to USAGE_MODEL_WIDTH characters, so the line stays one line.
    """
    tokens = f"{_count(prompt_tokens)} in, {_count(completion_tokens)} out"
    if cost is None:
        money = "cost unknown"
    else:
        money = format_usd(cost) + (" (estimated)" if estimated else "")
    # Cut first: escaping a 50 MB name would build a 200 MB string to throw away.
    name = shorten(safe_line(shorten(model, USAGE_MODEL_WIDTH)), USAGE_MODEL_WIDTH)
    return f"orcli: {name}: {tokens} tokens, {money}" + (" (cached)" if cached else "")


def _count(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"
