"""Checks made before anything is sent: the --max-cost budget and the context length."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orcli.config import Settings
from orcli.streams import Streams


def check_guards(
    body: dict[str, Any], settings: Settings, max_cost: Decimal | None, streams: Streams
) -> None:
    """Refuse (exit 8) a request over budget or over the model's context."""
    return None


def estimate_usage_cost(
    model: str, prompt_tokens: int | None, completion_tokens: int | None
) -> Decimal | None:
    """Cost of a finished call from known prices, when the API did not say."""
    return None
