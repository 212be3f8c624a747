"""Failures of the network, in words a user can act on, and whether to try again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urljoin

import requests
import urllib3.exceptions

from orcli.errors import ConfigError, OrcliError, UpstreamError, squeeze
from orcli.http.retry import Retryable, timed_out


def redirected(status: int, url: str, location: str | None, base_url: str) -> ConfigError:
    """A 3xx: the base URL is out of date; name where the server points, as a base URL."""
    if not location:
        return ConfigError(f"HTTP {status}: the server redirected without saying where; "
                           "check --base-url")
    target = urljoin(url, location)
    suffix = url[len(base_url):]  # "/chat/completions", "/models"
    bare = target.rstrip("/")  # a redirect that only adds a trailing slash still names it
    if suffix and bare.endswith(suffix):
        target = bare[: -len(suffix)]
    return ConfigError(f"HTTP {status}: the server redirected to {squeeze(location, 200)}; "
                       f"set --base-url to {squeeze(target, 200)}")


def network_error(
    exc: BaseException, url: str, seconds: float, redact: Callable[[str], str]
) -> OrcliError | Retryable:
    """Name the failure in words a user can act on, and say whether to try again."""
    why = redact(reason(exc))
    url = redact(url)
    if isinstance(exc, UnicodeError):
        return ConfigError("a header value (API key, app_title or app_url) cannot be sent")
    if isinstance(exc, requests.exceptions.InvalidHeader):
        # Our own headers were checked before sending: this is the server's answer.
        return UpstreamError(f"{url} answered with headers that are not valid HTTP: {why}")
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema, urllib3.exceptions.LocationValueError)):
        return ConfigError(f"the base URL cannot be used ({url}): {why}")
    if isinstance(exc, requests.exceptions.SSLError):
        return UpstreamError(f"TLS error talking to {url}: {why}")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Retryable(UpstreamError(f"cannot connect to {url} within {seconds:g} s"))
    if isinstance(exc, requests.exceptions.Timeout):
        return timed_out(seconds)
    if isinstance(exc, requests.exceptions.ProxyError):
        return Retryable(UpstreamError(f"cannot reach the proxy for {url} (HTTPS_PROXY, "
                                       f"HTTP_PROXY or ALL_PROXY): {why}"))
    if isinstance(exc, requests.exceptions.ConnectionError):
        return Retryable(UpstreamError(f"cannot reach {url}: {why}"))
    return UpstreamError(f"request to {url} failed: {why}")


def causes(exc: BaseException) -> Iterator[BaseException]:
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


def reason(exc: BaseException) -> str:
    # The innermost cause is the readable one ("connection refused"), not urllib3's wrapper.
    import http.client
    import ssl

    from urllib3.exceptions import NameResolutionError

    found = list(causes(exc))
    for cause in found:
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
        if any(isinstance(cause, kind) for cause in found):
            return words
    text = str(found[-1]) or type(found[-1]).__name__
    return text.splitlines()[0][:200]
