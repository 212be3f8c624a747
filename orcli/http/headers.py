"""The headers every request carries, and when a key is needed."""

from __future__ import annotations

from orcli import __version__
from orcli.errors import ConfigError
from orcli.store.config import Settings


def build_headers(settings: Settings, need_key: bool = True,
                  send_key: bool = True) -> dict[str, str]:
    """The headers every request carries; the key when there is one to send.

    A key is required only by OpenRouter itself: a local or self-hosted server
    with no key set gets no Authorization header at all.
    """
    headers = {
        "User-Agent": f"orcli/{__version__}",
        "X-OpenRouter-Title": settings.app_title,
        "X-Title": settings.app_title,
        "HTTP-Referer": settings.app_url,
        "Content-Type": "application/json",
    }
    check_header_values(settings)
    if settings.api_key and send_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    elif need_key and send_key and key_required(settings.base_url):
        raise ConfigError(
            "no API key: set OPENROUTER_API_KEY (or api_key in the config file); "
            "keys are at https://openrouter.ai/keys"
        )
    return headers


def key_required(base_url: str) -> bool:
    """Whether the base URL is OpenRouter's (openrouter.ai or a subdomain), which needs a key."""
    from urllib.parse import urlsplit

    host = (urlsplit(base_url).hostname or "").rstrip(".").lower()
    return host == "openrouter.ai" or host.endswith(".openrouter.ai")


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
