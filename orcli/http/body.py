"""Reading a response body through urllib3, in big reads, under the attempt's watchdog.

urllib3 does the reading (so a body read to its end hands the connection back
to the pool); a chunked body comes a chunk at a time and any other body as
`read1` brings it, so a stream's events show as soon as they arrive. Every way
a read can fail becomes one UpstreamError.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from orcli.errors import (
    ApiError,
    ExitStatus,
    UpstreamError,
    describe_api_error,
    error_from_body,
)
from orcli.http.failures import causes, reason
from orcli.http.retry import error_object, retryable_if_transient, timed_out
from orcli.http.transport import Watchdog

READ_SIZE = 64 * 1024
# A JSON answer bigger than this comes from a broken or hostile server, not a model
# (as does a stream event over 64 MiB). Parsing takes three times its size at the
# peak, and 250 KB of gzip inflate to 256 MiB: 256 MiB here meant 780 MB of RSS.
MAX_BODY_BYTES = 64 * 1024 * 1024


def iter_body(response: Any, watchdog: Watchdog, seconds: float,
              after_read: Callable[[], None] = lambda: None) -> Iterator[bytes]:
    """The body's bytes as they arrive; a failure to read becomes one clear error.

    `after_read` runs when the next piece is asked for, so once the caller has
    handled this one (a stream's flush of stdout); what it raises is its own.
    """
    raw = response.raw
    if raw.chunked and raw.supports_chunked_reads():
        # A streamed answer: one piece per HTTP chunk (as the server flushed it),
        # at most READ_SIZE each. Four times cheaper than read1 here, which goes
        # through http.client's chunk reader for every piece.
        pieces = raw.read_chunked(READ_SIZE, decode_content=True)
    else:  # Content-Length, or a body that ends when the connection closes
        pieces = iter(partial(raw.read1, READ_SIZE, decode_content=True), b"")
    while True:
        try:
            piece = next(pieces, None)
        except UpstreamError:
            raise
        except Exception as exc:  # socket, http.client and urllib3 errors alike
            raise broken_answer(exc, watchdog, seconds) from None
        # The socket is cut, but what it brought may inflate for long; and urllib3
        # takes a cut in the trailers for their end.
        if watchdog.expired:
            raise timed_out(seconds, during_answer=True)
        if piece is None:
            return
        yield piece
        after_read()


def read_body(response: Any, watchdog: Watchdog, seconds: float) -> bytes:
    """The whole body, with a size limit; the watchdog bounds the time."""
    parts: list[bytes] = []
    size = 0
    for chunk in iter_body(response, watchdog, seconds):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise UpstreamError(f"the answer is larger than {MAX_BODY_BYTES >> 20} MiB; gave up")
        parts.append(chunk)
    return b"".join(parts)


def broken_answer(exc: BaseException, watchdog: Watchdog, seconds: float) -> UpstreamError:
    """What went wrong while the body was coming; never retried, the server had the request."""
    import http.client

    found = list(causes(exc))
    if watchdog.expired or any(isinstance(c, TimeoutError) for c in found) or _urllib3_timeout(
            found):
        return timed_out(seconds, during_answer=True)
    if _bad_chunk_size(found):  # urllib3 files it under IncompleteRead too
        error = UpstreamError("the connection broke during the answer: the server sent a "
                              "chunk size that is not a number (broken HTTP framing)")
    elif any(isinstance(c, http.client.IncompleteRead) for c in found) or any(
            "ended prematurely" in str(c) or "IncompleteRead" in str(c) for c in found):
        error = UpstreamError("the connection closed before the answer was complete")
    else:
        error = UpstreamError(f"the connection broke during the answer: {reason(exc)}")
    error.connection_lost = True  # type: ignore[attr-defined]  # retried before any event
    return error


def _bad_chunk_size(found: list[BaseException]) -> bool:
    from urllib3.exceptions import InvalidChunkLength

    # A negative size ("-5") passes int(line, 16) and fails as a read of -5 bytes.
    return any(isinstance(c, InvalidChunkLength) or (
        isinstance(c, ValueError) and "must be non-negative" in str(c)) for c in found)


def _urllib3_timeout(found: list[BaseException]) -> bool:
    from urllib3.exceptions import TimeoutError as Urllib3Timeout

    return any(isinstance(c, Urllib3Timeout) for c in found)


def parse_answer(http_status: int, headers: Any, content: bytes, url: str = "") -> dict[str, Any]:
    """The JSON object of a 200 answer; anything else raises the error it describes."""
    if http_status != 200:
        error = error_from_body(http_status, content, url)
        raise retryable_if_transient(error, http_status, error_object(content), headers)
    try:
        # NaN and Infinity are not JSON: read as null, so --json never prints them.
        answer = json.loads(content, parse_constant=lambda _: None)
    except (ValueError, RecursionError):
        if b"<html" in content[:512].lower():  # a captive portal or a web site, not the API
            raise UpstreamError(f"HTTP 200 from {url} but the answer is an HTML page, not "
                                "JSON; check --base-url / OPENROUTER_BASE_URL") from None
        raise UpstreamError("HTTP 200 but the answer is not JSON (unreadable body)") from None
    if not isinstance(answer, dict):
        raise UpstreamError("HTTP 200 but the answer is not a JSON object")
    if answer.get("error"):
        body_error = answer["error"]
        text = describe_api_error(body_error, inside="a 200 answer")
        code = body_error.get("code") if isinstance(body_error, dict) else None
        error = ApiError(text, ExitStatus.UPSTREAM, 200, code)
        raise retryable_if_transient(error, 200, body_error, headers)
    return answer


