"""`orcli models`: list, filter and show the catalog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from orcli.streams import Streams


@dataclass
class ModelsOptions:
    search: str | None = None
    show_id: str | None = None
    max_price: Decimal | None = None
    min_context: int | None = None
    supports: Sequence[str] = ()
    free: bool = False
    modality: str | None = None
    sort: str = "id"
    reverse: bool = False
    limit: int | None = None
    json_out: bool = False
    refresh: bool = False
    settings_flags: dict[str, Any] = field(default_factory=dict)
    debug: bool = False


def run_models(opts: ModelsOptions, streams: Streams) -> int:
    """List or show models from the (cached) catalog."""
    raise NotImplementedError("orcli models is being built")
