"""The account endpoints: GET /key and GET /generation (whose stats lag the answer).

OpenRouter writes a generation's stats a few seconds after the answer, and
answers 404 until then; `fetch_generation` asks again until GENERATION_WAIT
seconds have passed. Sleep and clock are parameters, so tests never wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from orcli.errors import ApiError, UpstreamError
from orcli.http.client import Client

GENERATION_WAIT = 10.0  # seconds of 404s before "not found" is believed
_FIRST_PAUSE = 0.5
_LONGEST_PAUSE = 2.0


def fetch_key(client: Client) -> dict[str, Any]:
    """GET /key: the key's `data` object."""
    return _data(client.get_json("/key"), "/key")


def fetch_generation(
    client: Client, generation_id: str, wait: float = GENERATION_WAIT,
    sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """GET /generation?id=ID: its `data` object, asking again on 404 for up to `wait` s."""
    deadline = clock() + wait
    pause = _FIRST_PAUSE
    while True:
        try:
            answer = client.get_json("/generation", {"id": generation_id})
        except ApiError as exc:
            left = deadline - clock()
            if exc.http_status != 404 or left <= 0:
                raise
            sleep(min(pause, left))
            pause = min(pause * 2, _LONGEST_PAUSE)
            continue
        return _data(answer, "/generation")


def _data(answer: dict[str, Any], path: str) -> dict[str, Any]:
    data = answer.get("data")
    if not isinstance(data, dict):
        raise UpstreamError(f"GET {path}: the answer has no 'data' object")
    return data
