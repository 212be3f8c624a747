"""When to try a request again, how long to wait first, and when an attempt is over.

Pure: no sockets. `orcli.http.client` runs the loop; this module decides which
failures are transient (SPEC "Retries and time limits"), reads the server's
own advice (`Retry-After`, `X-RateLimit-Reset`), looks at a stream's first
event, keeps each attempt's deadline and words the final error.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Mapping

from msgspec import Struct

from orcli.errors import (
    ExitStatus,
    OrcliError,
    UpstreamError,
    exit_status_for_http,
    numeric_code,
    squeeze,
)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 524, 529})


class Backoff(Struct, frozen=True):
    """How long to wait between attempts; tests install a fast one with a recording sleep."""

    base: float = 1.0
    cap: float = 30.0
    longest_wait: float = 60.0  # a server asking for more gets exit 6 and "try again at"
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random
    now: Callable[[], float] = time.time

    def delay(self, attempt: int) -> float:
        """Exponential, keeping at least half of each step so retries never bunch at 0."""
        step = min(self.cap, self.base * 2 ** (attempt - 1))
        return step / 2 + self.jitter() * step / 2


class Retryable(Exception):
    """An attempt failed in a way worth another try; `wait` is the server's advice, if any."""

    def __init__(self, error: OrcliError, wait: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.wait = wait

    def short(self) -> str:
        """The failure in a few words, for the "retrying" line."""
        return squeeze(self.error.message, 120)


def retryable_if_transient(
    error: OrcliError, http_status: int, body_error: object, headers: Mapping[str, str] | None,
    now: Callable[[], float] = time.time,
) -> OrcliError | Retryable:
    """Wrap `error` as Retryable when its status, or the code in a 400/200 body, is transient.

    A transient code found in a body decides the exit code too: a 200 carrying
    a 429 is rate limiting (6), a 400 carrying a 502 an upstream failure (7).
    """
    code = http_status if http_status in RETRY_STATUSES else None
    if code is None and http_status in (200, 400):
        code = error_code(body_error)
    if code not in RETRY_STATUSES:
        return error
    if http_status not in RETRY_STATUSES:
        error.status = exit_status_for_http(code)
    return Retryable(error, retry_after(headers, body_error, now()))


def error_code(body_error: object) -> int | None:
    """An error object's `code` as an int (502 or "502"), else None."""
    return numeric_code(body_error.get("code") if isinstance(body_error, dict) else None)


def retry_after(headers: Mapping[str, str] | None, body_error: object, now: float) -> float | None:
    """Seconds the server asks for: Retry-After, else X-RateLimit-Reset; None when it is silent.

    OpenRouter also copies rate-limit headers into `error.metadata.headers`, so
    those count too.
    """
    sources = [_lower(headers), _lower(_metadata_headers(body_error))]
    for source in sources:
        if "retry-after" in source:
            seconds = parse_retry_after(source["retry-after"], now)
            if seconds is not None:
                return seconds
    for source in sources:
        if "x-ratelimit-reset" in source:
            seconds = parse_reset(source["x-ratelimit-reset"], now)
            if seconds is not None:
                return seconds
    return None


def parse_retry_after(value: object, now: float) -> float | None:
    """Retry-After as seconds from now: a number of seconds or an HTTP date."""
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = _http_date(text) - now
        except (TypeError, ValueError, IndexError):
            return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _http_date(text: str) -> float:
    """An HTTP date as epoch seconds; a date without a zone (or "-0000") is UTC."""
    from datetime import UTC
    from email.utils import parsedate_to_datetime  # rare: dates, not seconds

    when = parsedate_to_datetime(text)
    # HTTP dates are always GMT (RFC 9110), but parsedate_to_datetime gives a
    # naive datetime for these, and .timestamp() would read it as local time.
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def parse_reset(value: object, now: float) -> float | None:
    """X-RateLimit-Reset as seconds from now; OpenRouter sends epoch milliseconds.

    A reset already past says nothing useful, so the normal backoff applies.
    """
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    epoch = number / 1000 if number > 1e11 else number  # tolerate epoch seconds too
    seconds = epoch - now
    return seconds if seconds > 0 else None


def final_error(failure: Retryable, wait: float, attempts: int, backoff: Backoff) -> OrcliError:
    """The error to report when no more attempts will be made."""
    error = failure.error
    if wait > backoff.longest_wait:
        when = describe_wait(wait, backoff.now())
        limited = error.status == ExitStatus.RATE_LIMITED
        lead = "rate limited" if limited else "the server asks to wait"
        error.message = f"{lead}: try again {when}; {error.message}"
        error.status = ExitStatus.RATE_LIMITED
        return error
    if attempts > 1:
        error.message += f" (after {attempts} attempts)"
    if failure.wait:
        error.message += f"; try again {describe_wait(failure.wait, backoff.now())}"
    return error


def describe_wait(seconds: float, now: float) -> str:
    """'in 45 s', 'in 5 min (at 14:05 UTC)', 'in 26 h (at 2025-01-02 14:05 UTC)'."""
    if seconds <= 90:
        return f"in {math.ceil(seconds)} s"
    amount = f"{round(seconds / 60)} min" if seconds < 90 * 60 else f"{round(seconds / 3600)} h"
    shape = "%H:%M" if seconds < 20 * 3600 else "%Y-%m-%d %H:%M"
    try:
        clock = time.strftime(shape, time.gmtime(now + seconds))
    except (OverflowError, OSError, ValueError):
        # A server may ask for 1e20 s: past any date the platform can show.
        return f"in {amount}"
    return f"in {amount} (at {clock} UTC)"


def error_object(content: bytes) -> object:
    """The `error` member of a JSON body, or None when there is none (or no JSON)."""
    try:
        payload = json.loads(content)
    except (ValueError, RecursionError):
        return None
    return payload.get("error") if isinstance(payload, dict) else None


def timed_out(seconds: float, during_answer: bool = False) -> UpstreamError:
    """The deadline passed; never retried, as the server may be working on (and billing) it."""
    if during_answer:
        return UpstreamError(f"the answer did not finish within {seconds:g} s (--timeout)")
    return UpstreamError(f"no answer within {seconds:g} s (--timeout)")


def _metadata_headers(body_error: object) -> object:
    metadata = body_error.get("metadata") if isinstance(body_error, dict) else None
    return metadata.get("headers") if isinstance(metadata, dict) else None


def _lower(headers: object) -> dict[str, object]:
    if not isinstance(headers, Mapping):
        return {}
    return {str(k).lower(): v for k, v in headers.items()}
