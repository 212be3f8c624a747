"""`orcli price`: what a prompt would cost, before it is sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orcli.streams import Streams


@dataclass
class PriceOptions:
    words: Sequence[str] = ()
    files: Sequence[str] = ()
    messages_path: str | None = None
    system: str | None = None
    no_stdin: bool = False
    input_tokens: int | None = None
    output_tokens: int = 0
    compare: Sequence[str] = ()
    json_out: bool = False
    refresh: bool = False
    settings_flags: dict[str, Any] = field(default_factory=dict)
    debug: bool = False


def run_price(opts: PriceOptions, streams: Streams) -> int:
    """Estimate the cost for the model and each --compare model."""
    raise NotImplementedError("orcli price is being built")
