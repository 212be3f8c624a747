"""The only module that speaks HTTP: sessions, headers, retries, deadlines, errors.

Everything the network can do wrong becomes an OrcliError here, so commands
deal in dicts and byte chunks only.

Retries are one loop (`Client._retrying`; the policy is in `orcli.http.retry`), not
urllib3's `Retry`, because most cases SPEC lists need what `Retry` cannot do:
a 400 whose `error.code` is 502 and a 200 whose body is an error need the body;
a stream is only known to be good once its first event is in; a `Retry-After`
over 60 s must end the run with exit 6, not be slept through (urllib3 sleeps
whatever the header says); it ignores `X-RateLimit-Reset`; and tests need the
sleep injectable. Both together would split `--retries` between two counters,
so the adapter gets `max_retries=0` and the loop handles connection failures too.

Redirects are not followed: requests would turn the POST into a GET (and
the server's answer into a puzzling 405) and drop the key on another host.
A 3xx is reported with its Location, for --base-url.

Not retried: TLS errors (they fail the same way again), a read timeout (the
server had the request and may bill it), anything after a stream's first event.

`--timeout` is a wall-clock deadline per attempt: requests' own timeout restarts
with every byte, so `: OPENROUTER PROCESSING` each second would never time out.
urllib3's `Timeout(total=...)` bounds connect plus the wait for the headers, and
each body read first shrinks the socket timeout to what is left.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urljoin

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3 import Timeout

from orcli import __version__
from orcli.errors import (
    ApiError,
    ConfigError,
    ExitStatus,
    OrcliError,
    UpstreamError,
    describe_api_error,
    error_from_body,
    squeeze,
)
from orcli.http.body import iter_chunks
from orcli.http.retry import (
    Backoff,
    Deadline,
    Retryable,
    error_object,
    final_error,
    peek_first_event,
    retryable_if_transient,
    timed_out,
)
from orcli.store.config import Settings

# A JSON answer bigger than this comes from a broken or hostile server, not a model.
MAX_BODY_BYTES = 256 * 1024 * 1024
REDACTED = "<redacted>"
DEFAULT_BACKOFF = Backoff()  # tests replace it with a fast one that records its sleeps
T = TypeVar("T")
CACHE_STATUS_HEADER = "X-OpenRouter-Cache-Status"


@dataclass(frozen=True)
class Reply:
    """A whole JSON answer, and what the response cache said of it (HIT, MISS or None)."""

    answer: dict[str, Any]
    cache_status: str | None = None


def build_headers(settings: Settings, need_key: bool = True) -> dict[str, str]:
    """The headers every request carries; the key only where one is needed."""
    headers = {
        "User-Agent": f"orcli/{__version__}",
        "X-OpenRouter-Title": settings.app_title,
        "X-Title": settings.app_title,
        "HTTP-Referer": settings.app_url,
        "Content-Type": "application/json",
    }
    check_header_values(settings)
    if settings.api_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    elif need_key:
        raise ConfigError(
            "no API key: set OPENROUTER_API_KEY (or api_key in the config file); "
            "keys are at https://openrouter.ai/keys"
        )
    return headers


def check_header_values(settings: Settings) -> None:
    """Refuse values HTTP cannot carry, before requests fails with the value in its message."""
    key = settings.api_key or ""
    if not all("!" <= c <= "~" for c in key):
        source = settings.sources.get("api_key", "the configuration")
        raise ConfigError(f"the API key contains characters that cannot be sent (from {source}):"
                          " a space, line break or non-ASCII character; copy the key again")
    for name in ("app_title", "app_url"):
        value = getattr(settings, name)
        if not all(" " <= c <= "~" for c in value) or value != value.strip():
            raise ConfigError(f"{name} must be printable ASCII without leading or trailing "
                              f"spaces to go in an HTTP header: {value!r}")


def redact(headers: dict[str, str]) -> dict[str, str]:
    """A copy fit for debug output: no secret survives."""
    return {k: ("Bearer <redacted>" if k.lower() == "authorization" else v)
            for k, v in headers.items()}


class Client:
    """An OpenRouter (or OpenAI-compatible) endpoint, as `settings` describe it."""

    def __init__(
        self, settings: Settings, debug: Callable[[str], None] | None = None,
        notify: Callable[[str], None] | None = None, backoff: Backoff | None = None,
    ) -> None:
        self.settings = settings
        self.debug = debug
        self.notify = notify  # one stderr line per retry; None keeps quiet
        self.backoff = backoff or DEFAULT_BACKOFF
        self.session = requests.Session()
        # requests puts ~/.netrc's login for the host in place of our Bearer
        # header, but only when no auth is set: this one leaves the request as
        # it is. trust_env stays on, so proxies from the environment still work.
        self.session.auth = _keep_headers
        adapter = HTTPAdapter(max_retries=0)  # _retrying does every retry; see the docstring
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def chat(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> Reply:
        """POST /chat/completions; the parsed answer and the response cache's verdict."""
        url, all_headers, data = self._post_parts(body, headers)
        return self._retrying(lambda: self._json_attempt("POST", url, all_headers, data))

    @contextmanager
    def stream(self, body: dict[str, Any],
               headers: dict[str, str] | None = None) -> Iterator[Iterator[bytes]]:
        """POST a streaming request; yields an iterator of raw byte chunks.

        Retries end once the first event is in: after that the caller may have
        printed text, and a second answer would repeat it.
        """
        url, headers, data = self._post_parts(body, headers)
        # Uncompressed: a compressor may hold pieces back, and only a body with
        # nothing to decode can take body_reader's short way.
        headers["Accept-Encoding"] = "identity"
        response, chunks = self._retrying(lambda: self._stream_attempt(url, headers, data))
        with closing(response):
            try:
                yield chunks
            except OrcliError as exc:
                # The caller parses the chunks, so a mid-stream error (or a
                # snippet of bad data) surfaces in its block; it leaves through here.
                self.scrub(exc)
                raise

    def scrub(self, exc: OrcliError) -> None:
        """Take the API key out of an error's text before anyone shows it.

        A server may echo the key ("Invalid API key: sk-or-...") in an error
        message, in an error inside the stream or in data that is not JSON.
        Every error leaves the client through `_retrying` or `stream`, which
        call this.
        """
        key = self.settings.api_key
        if not key:
            return
        exc.message = exc.message.replace(key, REDACTED)
        exc.args = tuple(a.replace(key, REDACTED) if isinstance(a, str) else a
                         for a in exc.args)

    def get_json(self, path: str, params: dict[str, str] | None = None,
                 need_key: bool = True) -> dict[str, Any]:
        """GET base_url + path (with a query from `params`); the answer's JSON object."""
        from urllib.parse import urlencode

        url = self.settings.base_url + path + (f"?{urlencode(params)}" if params else "")
        headers = build_headers(self.settings, need_key=need_key)
        return self._retrying(lambda: self._json_attempt("GET", url, headers, None)).answer

    def list_models(self) -> list[dict[str, Any]]:
        """GET /models: the catalog's `data` list."""
        url = self.settings.base_url + "/models"
        answer = self.get_json("/models", need_key=False)
        data = answer.get("data")
        if not isinstance(data, list):
            raise UpstreamError(f"GET {url}: the answer has no 'data' list of models")
        return data

    def _post_parts(self, body: dict[str, Any], extra: dict[str, str] | None
                    ) -> tuple[str, dict[str, str], bytes]:
        headers = build_headers(self.settings) | (extra or {})
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
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
        deadline = Deadline(self.settings.timeout)
        with closing(self._open(method, url, headers, data, deadline)) as response:
            content = read_body(response, deadline)
        answer = parse_answer(response.status_code, response.headers, content)
        return Reply(answer, response.headers.get(CACHE_STATUS_HEADER))

    def _stream_attempt(
        self, url: str, headers: dict[str, str], data: bytes
    ) -> tuple[requests.Response, Iterator[bytes]]:
        deadline = Deadline(self.settings.timeout)
        response = self._open("POST", url, headers, data, deadline)
        try:
            kind = response.headers.get("content-type", "")
            if response.status_code != 200 or kind.startswith(("application/json", "text/html")):
                parse_answer(response.status_code, response.headers, read_body(response, deadline))
                raise UpstreamError("asked for a stream but the server sent a single JSON answer")
            return response, peek_first_event(iter_body(response, deadline), response.headers)
        except BaseException:
            response.close()
            raise

    def _open(
        self, method: str, url: str, headers: dict[str, str], data: bytes | None,
        deadline: Deadline,
    ) -> requests.Response:
        """Send the request and wait for the status line and headers, within the deadline."""
        if self.debug:
            self.debug(f"{method} {url} headers={redact(headers)}")
        try:
            response = self.session.request(
                method, url, headers=headers, data=data, stream=True, allow_redirects=False,
                timeout=Timeout(total=max(deadline.remaining(), 0.001)),
            )
        except (requests.RequestException, urllib3.exceptions.HTTPError, ValueError) as exc:
            raise network_error(exc, url, deadline.seconds, self.settings.api_key) from None
        if self.debug:
            self.debug(f"HTTP {response.status_code} {response.headers.get('content-type', '')}")
        if deadline.remaining() <= 0:
            response.close()
            raise timed_out(deadline.seconds)
        if 300 <= response.status_code < 400:
            response.close()
            raise redirected(response.status_code, url, response.headers.get("location"),
                             self.settings.base_url)
        return response


def _keep_headers(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Session auth that changes nothing; see Client.__init__."""
    return request


def redirected(status: int, url: str, location: str | None, base_url: str) -> ConfigError:
    """A 3xx: the base URL is out of date; name where the server points, as a base URL."""
    if not location:
        return ConfigError(f"HTTP {status}: the server redirected without saying where; "
                           "check --base-url")
    target = urljoin(url, location)
    suffix = url[len(base_url):]  # "/chat/completions", "/models"
    if suffix and target.endswith(suffix):
        target = target[: -len(suffix)]
    return ConfigError(f"HTTP {status}: the server redirected to {squeeze(location, 200)}; "
                       f"set --base-url to {squeeze(target, 200)}")


def iter_body(response: requests.Response, deadline: Deadline) -> Iterator[bytes]:
    """Bytes as they arrive within the deadline; a failure becomes one clear error."""
    try:
        yield from iter_chunks(response.raw, deadline)
    except UpstreamError:
        raise
    except Exception as exc:  # socket, http.client and urllib3 errors alike
        raise broken_answer(exc, deadline) from None


def broken_answer(exc: BaseException, deadline: Deadline) -> UpstreamError:
    """What went wrong while the body was coming; never retried, the server had the request."""
    import http.client

    causes = list(_causes(exc))
    if deadline.remaining() <= 0 or _is_timeout(exc):
        return timed_out(deadline.seconds, during_answer=True)
    if any(isinstance(c, http.client.IncompleteRead) for c in causes) or any(
            "ended prematurely" in str(c) for c in causes):
        return UpstreamError("the connection closed before the answer was complete")
    return UpstreamError(f"the connection broke during the answer: {_reason(exc)}")


def read_body(response: requests.Response, deadline: Deadline) -> bytes:
    """The whole body, read in chunks so that the deadline and a size limit hold."""
    parts: list[bytes] = []
    size = 0
    for chunk in iter_body(response, deadline):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise UpstreamError(f"the answer is larger than {MAX_BODY_BYTES >> 20} MiB; gave up")
        parts.append(chunk)
    return b"".join(parts)


def parse_answer(http_status: int, headers: Any, content: bytes) -> dict[str, Any]:
    """The JSON object of a 200 answer; anything else raises the error it describes."""
    if http_status != 200:
        error = error_from_body(http_status, content)
        raise retryable_if_transient(error, http_status, error_object(content), headers)
    try:
        answer = json.loads(content)
    except (ValueError, RecursionError):
        page = b"<html" in content[:512].lower()
        raise UpstreamError(
            f"HTTP 200 but the answer is not JSON ({'an HTML page' if page else 'unreadable body'})"
        ) from None
    if not isinstance(answer, dict):
        raise UpstreamError("HTTP 200 but the answer is not a JSON object")
    if answer.get("error"):
        body_error = answer["error"]
        text = describe_api_error(body_error, inside="a 200 answer")
        code = body_error.get("code") if isinstance(body_error, dict) else None
        error = ApiError(text, ExitStatus.UPSTREAM, 200, code)
        raise retryable_if_transient(error, 200, body_error, headers)
    return answer


def network_error(
    exc: BaseException, url: str, seconds: float, key: str | None
) -> OrcliError | Retryable:
    """Name the failure in words a user can act on, and say whether to try again."""
    reason = _reason(exc).replace(key, REDACTED) if key else _reason(exc)
    if isinstance(exc, (requests.exceptions.InvalidHeader, UnicodeError)):
        return ConfigError("a header value (API key, app_title or app_url) cannot be sent")
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema, urllib3.exceptions.LocationValueError)):
        return ConfigError(f"the base URL cannot be used ({url}): {reason}")
    if isinstance(exc, requests.exceptions.SSLError):
        return UpstreamError(f"TLS error talking to {url}: {reason}")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Retryable(UpstreamError(f"cannot connect to {url} within {seconds:g} s"))
    if isinstance(exc, requests.exceptions.Timeout):
        return timed_out(seconds)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return Retryable(UpstreamError(f"cannot reach {url}: {reason}"))
    return UpstreamError(f"request to {url} failed: {reason}")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps, outermost first."""
    todo, seen = [exc], set()
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = [a for a in current.args if isinstance(a, BaseException)]
        inner += [getattr(current, "reason", None), current.__cause__, current.__context__]
        todo += [e for e in inner if isinstance(e, BaseException)]


def _reason(exc: BaseException) -> str:
    # The innermost cause is the readable one ("connection refused"), not urllib3's wrapper.
    import http.client
    import ssl

    from urllib3.exceptions import NameResolutionError

    causes = list(_causes(exc))
    for cause in causes:
        if isinstance(cause, NameResolutionError):
            return "the host name could not be resolved (DNS)"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return str(cause.reason or cause).lower().replace("_", " ")
    # RemoteDisconnected is a ConnectionResetError, so it is looked for first.
    for kind, words in ((http.client.RemoteDisconnected,
                         "the server closed the connection without answering"),
                        (ConnectionRefusedError, "connection refused"),
                        (ConnectionResetError, "connection reset by the server")):
        if any(isinstance(cause, kind) for cause in causes):
            return words
    text = str(causes[-1]) or type(causes[-1]).__name__
    return text.splitlines()[0][:200]


def _is_timeout(exc: BaseException) -> bool:
    from urllib3.exceptions import TimeoutError as Urllib3Timeout

    return any(isinstance(c, (TimeoutError, Urllib3Timeout)) for c in _causes(exc))
