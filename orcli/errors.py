"""Exit statuses and the errors that carry them.

Every failure orcli reports is one of these exceptions; `__main__` turns them
into a one-line message and an exit code in one place.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    CONFIG = 3
    REFUSED = 4
    PAYMENT = 5
    RATE_LIMITED = 6
    UPSTREAM = 7
    GUARD = 8
    BATCH_FAILED = 9  # batch finished, and some rows failed (each says why)
    INTERRUPTED = 130


class OrcliError(Exception):
    """An error the user should see as one line, with its exit status."""

    status: ExitStatus = ExitStatus.INTERNAL

    def __init__(self, message: str, status: ExitStatus | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class UsageError(OrcliError):
    status = ExitStatus.USAGE


class ConfigError(OrcliError):
    status = ExitStatus.CONFIG


class ApiError(OrcliError):
    """The API answered with an error; `status` follows the HTTP status."""

    status = ExitStatus.UPSTREAM

    def __init__(
        self,
        message: str,
        status: ExitStatus | None = None,
        http_status: int | None = None,
        api_code: object = None,
    ) -> None:
        super().__init__(message, status)
        self.http_status = http_status
        # The error object's own `code`: a 200 carrying a 403 is a 403 to a
        # script reading --jsonl, whatever the status line said.
        self.api_code = api_code
        # The answer was not the API's own (a web server's bare 404, an HTML page):
        # the path called is likely wrong, so the base URL is named as the suspect.
        self.wrong_url = False


class UpstreamError(OrcliError):
    """Network failure, bad body, cut stream: the far side is at fault."""

    status = ExitStatus.UPSTREAM


class GuardError(OrcliError):
    """Refused locally before sending: budget or context length."""

    status = ExitStatus.GUARD


class UnknownModelError(OrcliError):
    status = ExitStatus.REFUSED


# HTTP status -> exit status, for errors the API answers with.
_HTTP_EXIT = {
    401: ExitStatus.CONFIG,
    402: ExitStatus.PAYMENT,
    408: ExitStatus.UPSTREAM,
    429: ExitStatus.RATE_LIMITED,
}


def exit_status_for_http(http_status: int) -> ExitStatus:
    """Which exit code an HTTP error status maps to (SPEC "Exit codes")."""
    if http_status in _HTTP_EXIT:
        return _HTTP_EXIT[http_status]
    if 400 <= http_status < 500:
        return ExitStatus.REFUSED
    return ExitStatus.UPSTREAM


def describe_api_error(
    error: object, http_status: int | None = None, inside: str | None = None
) -> str:
    """One line from an OpenRouter error object: where, code, message, provider, raw.

    `inside` names where an error came that the HTTP status did not announce
    ("a 200 answer", "the stream"); its own code is then the one that matters.
    """
    if not isinstance(error, dict):
        error = {"message": str(error)}
    code = error.get("code")
    if isinstance(error.get("error"), str) and not error.get("message"):
        error = {**error, "message": error["error"]}
    message = squeeze(str(error.get("message") or "no message"), 300)
    if inside is not None:
        where = f"error inside {inside}" + (f" (code {code})" if code not in (None, "") else "")
        head = f"{where}: {message}"
    elif http_status is not None:
        head = f"HTTP {http_status}: {message}"
    else:
        head = message
    return head + _describe_metadata(error.get("metadata"))


def _describe_metadata(metadata: object) -> str:
    # Every part is the server's to shape: take only what has the documented
    # type, and squeeze it, so a hostile body cannot crash orcli or flood stderr.
    if not isinstance(metadata, dict):
        return ""
    details = []
    if metadata.get("provider_name"):
        details.append("provider " + squeeze(str(metadata["provider_name"]), 100))
    reasons = metadata.get("reasons")
    if isinstance(reasons, list) and reasons:
        details.append("reasons: " + squeeze(", ".join(map(str, reasons[:20])), 200))
    raw = metadata.get("raw")
    if raw:
        import json

        text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
        details.append("raw: " + squeeze(text, 300))
    return f" ({'; '.join(details)})" if details else ""


def squeeze(text: str, limit: int) -> str:
    """`text` on one line and at most `limit` characters, however big the server's text was."""
    flat = " ".join(text[: limit * 2].split())  # slice first: a raw page may be megabytes
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# The string codes OpenAI-compatible servers put in errors, as the HTTP status each means.
_NAMED_CODES = {
    "rate_limit_exceeded": 429, "too_many_requests": 429, "model_not_found": 404,
    "not_found": 404, "invalid_api_key": 401, "unauthorized": 401,
    "insufficient_quota": 402, "payment_required": 402, "permission_denied": 403,
    "server_error": 500, "internal_error": 500, "bad_gateway": 502,
    "service_unavailable": 503, "overloaded": 529, "timeout": 408,
}


def numeric_code(code: object, names: bool = True) -> int | None:
    """An error `code` as an HTTP status: 502 or "502" (even " 502 "), or a known name
    such as "rate_limit_exceeded" (429); else None."""
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    if isinstance(code, str):
        text = code.strip()
        # isascii too: "²".isdigit() is True but int("²") fails.
        if text.isascii() and text.isdigit() and len(text) < 10:
            return int(text)
        return _NAMED_CODES.get(text.lower()) if names else None
    return None


def error_from_body(http_status: int, body: bytes, url: str = "") -> OrcliError:
    """The error for a non-2xx answer, from its JSON error body or its bare status.

    An answer that is not the API's (an HTML page, a bare 404) names the URL
    called, as the base URL is the likely mistake.
    """
    import json

    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested 100,000 deep
        payload = None
    status = exit_status_for_http(http_status)
    if isinstance(payload, dict) and payload.get("error"):
        error = payload["error"]
        if isinstance(error, str) and isinstance(payload.get("message"), str):
            # {"error": "TypeError", "message": "..."}: the message is the server's words.
            error = {"message": f"{error}: {payload['message']}"}
        code = error.get("code") if isinstance(error, dict) else None
        return ApiError(describe_api_error(error, http_status), status, http_status, code)
    if isinstance(payload, dict) and isinstance(payload.get("detail"), str | list):
        # FastAPI-style servers (vLLM, transformers serve): {"detail": "..."}.
        detail = payload["detail"]
        text = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)
        return _not_the_apis(http_status, url, squeeze(text, 300), status,
                             name_url=bool(url) and http_status in _NO_SUCH_ENDPOINT)
    kind = "an HTML page" if b"<html" in body[:512].lower() else "a body that is not JSON"
    if not body.strip():
        kind = "an empty body"
    # A gateway's page for a server error: the base URL is likely right.
    gateway = http_status >= 500 and http_status not in _NO_SUCH_ENDPOINT
    return _not_the_apis(http_status, url, f"the server sent {kind}", status,
                         name_url=bool(url) and not gateway)


# Statuses that say the path is not the API's: the base URL is the likely mistake.
_NO_SUCH_ENDPOINT = (404, 405, 501)


def _not_the_apis(http_status: int, url: str, text: str, status: ExitStatus,
                  name_url: bool) -> ApiError:
    """An error answer that is not the API's own; `name_url` names the URL called and
    the base URL as the suspect."""
    called = f" from {squeeze(url, 200)}" if name_url else ""
    hint = "; check --base-url / OPENROUTER_BASE_URL" if name_url else ""
    error = ApiError(f"HTTP {http_status}{called}: {text}{hint}", status, http_status)
    error.wrong_url = bool(url) and http_status in _NO_SUCH_ENDPOINT
    return error
