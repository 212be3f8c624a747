"""The only module that speaks HTTP: sessions, headers, retries, errors.

Everything the network can do wrong becomes an OrcliError here, so commands
deal in dicts and byte chunks only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from orcli import __version__
from orcli.config import Settings
from orcli.errors import (
    ApiError,
    ConfigError,
    ExitStatus,
    UpstreamError,
    describe_api_error,
    error_from_body,
)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 524, 529})
READ_SIZE = 64 * 1024


def build_headers(settings: Settings, need_key: bool = True) -> dict[str, str]:
    """The headers every request carries; the key only where one is needed."""
    headers = {
        "User-Agent": f"orcli/{__version__}",
        "X-OpenRouter-Title": settings.app_title,
        "X-Title": settings.app_title,
        "HTTP-Referer": settings.app_url,
        "Content-Type": "application/json",
    }
    if settings.api_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    elif need_key:
        raise ConfigError(
            "no API key: set OPENROUTER_API_KEY (or api_key in the config file); "
            "keys are at https://openrouter.ai/keys"
        )
    return headers


def redact(headers: dict[str, str]) -> dict[str, str]:
    """A copy fit for debug output: no secret survives."""
    return {k: ("Bearer <redacted>" if k.lower() == "authorization" else v)
            for k, v in headers.items()}


class Client:
    """An OpenRouter (or OpenAI-compatible) endpoint, as `settings` describe it."""

    def __init__(self, settings: Settings, debug: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.debug = debug
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=self._retry_policy())
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def _retry_policy(self) -> Retry:
        # Only connection failures are retried below HTTP: a read timeout on a
        # request the server accepted may still be billed, so it is never retried.
        return Retry(
            total=self.settings.retries, connect=self.settings.retries, read=0,
            status=self.settings.retries, other=0, status_forcelist=RETRY_STATUSES,
            allowed_methods=None, backoff_factor=0.5, backoff_jitter=0.5,
            respect_retry_after_header=True, raise_on_status=False,
        )

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /chat/completions and return the parsed answer."""
        with self._post("/chat/completions", body, stream=False) as response:
            return parse_json_answer(response.status_code, response.content)

    @contextmanager
    def stream(self, body: dict[str, Any]) -> Iterator[Iterator[bytes]]:
        """POST a streaming request; yields an iterator of raw byte chunks."""
        with self._post("/chat/completions", body, stream=True) as response:
            if response.status_code != 200:
                raise error_from_body(response.status_code, response.content)
            yield iter_raw_chunks(response)

    def list_models(self) -> list[dict[str, Any]]:
        """GET /models: the catalog's `data` list."""
        url = self.settings.base_url + "/models"
        headers = build_headers(self.settings, need_key=False)
        with self._send("GET", url, headers, None, stream=False) as response:
            answer = parse_json_answer(response.status_code, response.content)
        data = answer.get("data")
        if not isinstance(data, list):
            raise UpstreamError(f"GET {url}: the answer has no 'data' list of models")
        return data

    @contextmanager
    def _post(self, path: str, body: dict[str, Any], stream: bool) -> Iterator[requests.Response]:
        headers = build_headers(self.settings)
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        with self._send("POST", self.settings.base_url + path, headers, data, stream) as r:
            yield r

    @contextmanager
    def _send(
        self, method: str, url: str, headers: dict[str, str], data: bytes | None, stream: bool
    ) -> Iterator[requests.Response]:
        if self.debug:
            self.debug(f"{method} {url} headers={redact(headers)}")
        try:
            response = self.session.request(
                method, url, headers=headers, data=data, stream=stream,
                timeout=self.settings.timeout,
            )
        except requests.RequestException as exc:
            raise network_error(exc, url, self.settings.timeout) from None
        if self.debug:
            self.debug(f"HTTP {response.status_code} {response.headers.get('content-type', '')}")
        try:
            yield response
        finally:
            response.close()


def iter_raw_chunks(response: requests.Response) -> Iterator[bytes]:
    """Bytes as they arrive: read1 returns what is there, never waits to fill a buffer."""
    raw = response.raw
    try:
        while True:
            chunk = raw.read1(READ_SIZE)
            if not chunk:
                return
            yield chunk
    except (requests.RequestException, OSError, ValueError) as exc:
        raise UpstreamError(f"the connection broke during the answer: {_reason(exc)}") from None
    except Exception as exc:  # urllib3's own errors (ProtocolError, ReadTimeoutError)
        raise UpstreamError(f"the connection broke during the answer: {_reason(exc)}") from None


def parse_json_answer(http_status: int, content: bytes) -> dict[str, Any]:
    """A JSON object from a 200, or the error the status and body describe."""
    if http_status != 200:
        raise error_from_body(http_status, content)
    try:
        answer = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise UpstreamError(
            "HTTP 200 but the answer is not JSON "
            f"({'an HTML page' if b'<html' in content[:512].lower() else 'unreadable body'})"
        ) from None
    if not isinstance(answer, dict):
        raise UpstreamError("HTTP 200 but the answer is not a JSON object")
    if answer.get("error"):
        raise ApiError(describe_api_error(answer["error"], 200), ExitStatus.UPSTREAM, 200)
    return answer


def network_error(exc: Exception, url: str, timeout: float) -> UpstreamError:
    """Name the failure in words a user can act on; never echo headers."""
    if isinstance(exc, requests.exceptions.SSLError):
        return UpstreamError(f"TLS error talking to {url}: {_reason(exc)}")
    if isinstance(exc, requests.exceptions.Timeout):
        return UpstreamError(f"no answer from {url} within {timeout:g} s (--timeout)")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return UpstreamError(f"cannot reach {url}: {_reason(exc)}")
    return UpstreamError(f"request to {url} failed: {_reason(exc)}")


def _reason(exc: BaseException) -> str:
    # The innermost cause is the readable one ("Connection refused"), not urllib3's wrapper.
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "Connection reset",
                   "timed out", "certificate verify failed", "Max retries exceeded"):
        if marker in text:
            return marker.lower() if marker != "Max retries exceeded" else "gave up after retries"
    return text.splitlines()[0][:200] if text else type(exc).__name__
