"""The HTTP client: headers, the retry loop, the watchdog, and turning answers into data.

Everything the network can do wrong becomes an OrcliError here (the words are in
`orcli.http.failures`), so commands deal in answers and stream events only.

Retries are one loop (`Client._retrying`; the policy is in `orcli.http.retry`), not
urllib3's `Retry`, because most cases SPEC lists need what `Retry` cannot do:
a 400 whose `error.code` is 502 and a 200 whose body is an error need the body;
a stream is only known to be good once its first event is in; a `Retry-After`
over 60 s must end the run with exit 6, not be slept through; it ignores
`X-RateLimit-Reset`; and tests need the sleep injectable. So the adapter makes no
retries of its own and the loop handles connection failures too.

Redirects are not followed: requests would turn the POST into a GET (and
the server's answer into a puzzling 405) and drop the key on another host.
A 3xx is reported with its Location, for --base-url.

Not retried: TLS errors (they fail the same way again), a timeout once the
request was sent (the server had it and may bill it), anything after a stream's
first event.

`--timeout` is time without progress, kept by the Client's watchdog
(`orcli.http.transport`): the headers are progress, then each stream event; a
whole answer must arrive within --timeout of its headers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain
from typing import Any, TypeVar

import msgspec
import requests
import urllib3.exceptions
from msgspec import Struct

from orcli.errors import (
    OrcliError,
    UpstreamError,
)
from orcli.http.body import iter_body, parse_answer, read_body
from orcli.http.chunks import StreamError, StreamState, iter_events
from orcli.http.failures import network_error, redirected
from orcli.http.headers import build_headers, key_required, redact
from orcli.http.retry import (
    Backoff,
    Retryable,
    final_error,
    retryable_if_transient,
    timed_out,
)
from orcli.http.secrets import Redactor
from orcli.http.sse import StreamCut
from orcli.http.transport import Watchdog, WatchedAdapter
from orcli.response.events import Event
from orcli.store.config import Settings

DEFAULT_BACKOFF = Backoff()  # tests replace it with a fast one that records its sleeps
T = TypeVar("T")
CACHE_STATUS_HEADER = "X-OpenRouter-Cache-Status"


class Reply(Struct, frozen=True):
    """A whole JSON answer, and what the response cache said of it (HIT, MISS or None)."""

    answer: dict[str, Any]
    cache_status: str | None = None


class StreamReply(Struct, frozen=True):
    """A stream's events as they come, and what the response cache said of it."""

    events: Iterator[Event]
    cache_status: str | None = None
    seen: StreamState | None = None  # ids and model seen so far, for a stream cut short


class Client:
    """An OpenRouter (or OpenAI-compatible) endpoint, as `settings` describe it.

    One Client keeps its connections open between requests; a thread that sends
    requests of its own needs a Client of its own (batch gives each worker one).
    """

    def __init__(
        self, settings: Settings, debug: Callable[[str], None] | None = None,
        notify: Callable[[str], None] | None = None, backoff: Backoff | None = None,
        pool_size: int = 10,
        on_retryable: Callable[[Retryable], None] | None = None,
    ) -> None:
        self.settings = settings
        self._debug_line = debug
        self.notify = notify  # one stderr line per retry; None keeps quiet
        # Told of every transient failure (the last one too), so `batch` can slow
        # all its workers on a 429 or a Retry-After, which the retries would hide.
        self.on_retryable = on_retryable
        self.backoff = backoff or DEFAULT_BACKOFF
        self.redact = Redactor.for_settings(settings)
        self.watchdog = Watchdog()
        self.session = requests.Session()
        # requests puts ~/.netrc's login for the host in place of our Bearer
        # header, but only when no auth is set: this one leaves the request as
        # it is. trust_env stays on, so proxies from the environment still work.
        self.session.auth = _keep_headers
        adapter = WatchedAdapter(pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def chat(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> Reply:
        """POST /chat/completions; the parsed answer and the response cache's verdict."""
        url, all_headers, data = self._post_parts(body, headers)
        return self._retrying(lambda: self._json_attempt("POST", url, all_headers, data))

    @contextmanager
    def stream(self, body: dict[str, Any], headers: dict[str, str] | None = None,
               after_read: Callable[[], None] = lambda: None) -> Iterator[StreamReply]:
        """POST a streaming request; yields its events as they arrive.

        `after_read` runs once the events of each piece of the body (an HTTP chunk)
        are handled (stdout's flush). Retries end once the first event is in: after that the
        caller may have printed text, and a second answer would repeat it.
        """
        url, all_headers, data = self._post_parts(body, headers)
        # Uncompressed: a compressor may hold pieces back.
        all_headers["Accept-Encoding"] = "identity"
        response, events, seen = self._retrying(
            lambda: self._stream_attempt(url, all_headers, data, after_read))
        try:
            yield StreamReply(events, response.headers.get(CACHE_STATUS_HEADER), seen)
        except OrcliError as exc:
            self.scrub(exc)  # a mid-stream error surfaces in the caller's block
            raise
        finally:
            response.close()
            self.watchdog.disarm()

    def scrub(self, exc: OrcliError) -> None:
        """Take every secret (the key, a password in the base URL) out of an error's text.

        A server may echo the key ("Invalid API key: sk-or-...") in an error
        message, in an error inside the stream or in data that is not JSON.
        """
        exc.message = self.redact(exc.message)
        exc.args = tuple(self.redact(a) if isinstance(a, str) else a for a in exc.args)

    def get_json(self, path: str, params: dict[str, str] | None = None,
                 need_key: bool = True) -> dict[str, Any]:
        """GET base_url + path (with a query from `params`); the answer's JSON object."""
        from urllib.parse import urlencode

        url = self.settings.base_url + path + (f"?{urlencode(params)}" if params else "")
        headers = build_headers(self.settings, need_key=need_key)
        return self._retrying(lambda: self._json_attempt("GET", url, headers, None)).answer

    def list_models(self) -> list[dict[str, Any]]:
        """GET /models: the catalog's `data` list.

        OpenRouter's catalog is public, so it never gets the key; a proxy's (LiteLLM)
        may need one, so any other server gets the key when there is one.
        """
        url = self.settings.base_url + "/models"
        headers = build_headers(self.settings, need_key=False,
                                send_key=not key_required(self.settings.base_url))
        answer = self._retrying(lambda: self._json_attempt("GET", url, headers, None)).answer
        data = answer.get("data")
        if not isinstance(data, list):
            raise UpstreamError(f"GET {url}: the answer has no 'data' list of models; "
                                "check --base-url / OPENROUTER_BASE_URL")
        return data

    def debug(self, line: str) -> None:
        if self._debug_line:
            self._debug_line(self.redact(line))

    def _post_parts(self, body: dict[str, Any], extra: dict[str, str] | None
                    ) -> tuple[str, dict[str, str], bytes]:
        headers = build_headers(self.settings) | (extra or {})
        # Straight to UTF-8 bytes: json.dumps would hold the whole body once more as
        # text on the way (30 MB of stdin meant 30 MB more at the peak).
        data = msgspec.json.encode(body)
        return self.settings.base_url + "/chat/completions", headers, data

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Run `attempt` until it succeeds, fails for good, or the retries are spent."""
        attempts = self.settings.retries + 1
        for number in range(1, attempts + 1):
            try:
                return attempt()
            except OrcliError as exc:
                self.scrub(exc)
                raise
            except Retryable as failure:
                self.scrub(failure.error)  # before the "retrying" line shows it
                if self.on_retryable:
                    self.on_retryable(failure)
                wait = failure.wait if failure.wait is not None else self.backoff.delay(number)
                if wait > self.backoff.longest_wait or number == attempts:
                    raise final_error(failure, wait, number, self.backoff) from None
                if self.notify:
                    self.notify(f"orcli: {failure.short()}; retrying in {wait:.1f} s "
                                f"(attempt {number + 1} of {attempts})")
                self.backoff.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _json_attempt(
        self, method: str, url: str, headers: dict[str, str], data: bytes | None
    ) -> Reply:
        seconds = self.settings.timeout
        response = self._open(method, url, headers, data)
        try:
            self.watchdog.arm(seconds)  # the whole answer within --timeout of its headers
            content = read_body(response, self.watchdog, seconds)
        finally:
            response.close()  # a body read to its end has gone back to the pool already
            self.watchdog.disarm()
        answer = parse_answer(response.status_code, response.headers, content, url)
        return Reply(answer, response.headers.get(CACHE_STATUS_HEADER))

    def _stream_attempt(
        self, url: str, headers: dict[str, str], data: bytes,
        after_read: Callable[[], None],
    ) -> tuple[requests.Response, Iterator[Event], StreamState]:
        seconds = self.settings.timeout
        response = self._open("POST", url, headers, data)
        try:
            kind = response.headers.get("content-type", "")
            if response.status_code != 200 or kind.startswith(("application/json", "text/html")):
                body = read_body(response, self.watchdog, seconds)
                parse_answer(response.status_code, response.headers, body, url)
                raise UpstreamError("asked for a stream but the server sent a single JSON answer")
            seen = StreamState()
            events = self._events(response, after_read, seen)
            first = self._first_event(events, response.headers)
            return response, chain((first,), events), seen
        except BaseException:
            response.close()
            self.watchdog.disarm()
            raise

    def _events(self, response: requests.Response, after_read: Callable[[], None],
                seen: StreamState) -> Iterator[Event]:
        """The stream's events; each one is progress, and keeps the watchdog away."""
        chunks = iter_body(response, self.watchdog, self.settings.timeout, after_read)
        progress = self.watchdog.progress
        for event in iter_events(chunks, state=seen):
            progress()
            yield event

    def _first_event(self, events: Iterator[Event], headers: Any) -> Event:
        """The first event; a transient failure before it is worth another attempt."""
        try:
            return next(events)
        except StreamError as exc:
            raise retryable_if_transient(exc, 200, exc.error, headers) from None
        except UpstreamError as exc:
            # Nothing has been printed yet: a connection lost (or a stream ended)
            # before the first event is retried like one lost before the headers;
            # a timeout is not.
            lost = getattr(exc, "connection_lost", False) or isinstance(exc, StreamCut)
            if self.watchdog.expired or not lost:
                raise
            raise Retryable(exc) from None

    def _open(
        self, method: str, url: str, headers: dict[str, str], data: bytes | None,
    ) -> requests.Response:
        """Send the request and wait for the status line and headers, under the watchdog."""
        seconds = self.settings.timeout
        self.debug(f"{method} {url} headers={redact(headers)}")
        self.watchdog.arm(seconds)
        try:
            response = self.session.request(
                method, url, headers=headers, data=data, stream=True, allow_redirects=False,
                timeout=(seconds, seconds))
        except (requests.RequestException, urllib3.exceptions.HTTPError, ValueError,
                OSError) as exc:
            expired = self.watchdog.expired
            self.watchdog.disarm()
            if expired:
                raise timed_out(seconds) from None
            raise network_error(exc, url, seconds, self.redact) from None
        self.debug(f"HTTP {response.status_code} {response.headers.get('content-type', '')}")
        if self.watchdog.expired:
            response.close()
            raise timed_out(seconds)
        self.watchdog.progress()  # the headers are in
        if 300 <= response.status_code < 400:
            response.close()
            raise redirected(response.status_code, url, response.headers.get("location"),
                             self.settings.base_url)
        return response


def _keep_headers(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Session auth that changes nothing; see Client.__init__."""
    return request
