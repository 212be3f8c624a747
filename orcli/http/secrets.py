"""Redaction: no secret (the API key, a password in the base URL) in any output.

A server may echo a secret back in any shape: as it is, broken over lines,
URL-encoded, or base64-encoded inside a Basic or Bearer header it echoes. Each
shape gets a pattern; every error, retry note and debug line passes through.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from orcli.store.config import Settings

REDACTED = "<redacted>"
_SHORTEST = 6  # below this a "secret" would redact ordinary words


class Redactor:
    """A callable that replaces every known shape of each secret with <redacted>."""

    def __init__(self, secrets: Iterable[str]) -> None:
        shapes = set()
        for secret in secrets:
            if len(secret) >= _SHORTEST:
                shapes |= _shapes(secret)
        self._pattern = (re.compile("|".join(sorted(shapes, key=len, reverse=True)))
                         if shapes else None)

    @classmethod
    def for_settings(cls, settings: Settings) -> Redactor:
        """The secrets of these settings: the key, and the base URL's password."""
        password = urlsplit(settings.base_url).password
        secrets = [settings.api_key or ""]
        if password:
            secrets += [password, unquote(password)]
        return cls(secrets)

    def __call__(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text) if self._pattern else text


def _shapes(secret: str) -> set[str]:
    """Regular expressions for the secret as it is, split by whitespace, URL- or base64-encoded."""
    # A line break may fall anywhere inside, and any character may be %-encoded.
    plain = r"\s*".join(_char(c) for c in secret)
    return {plain} | {re.escape(b) for b in _base64_cores(secret)}


def _char(c: str) -> str:
    if c.isascii() and c.isalnum():
        return re.escape(c)
    encoded = "".join(f"%{b:02X}" for b in c.encode("utf-8"))
    return f"(?:{re.escape(c)}|(?i:{re.escape(encoded)}))"


def _base64_cores(secret: str) -> set[str]:
    """The part of the secret's base64 form that stays the same wherever it starts.

    Base64 works in 3-byte groups, so text before the secret shifts its encoding
    one of three ways; the middle of each shift is the same in any longer string.
    """
    data = secret.encode("utf-8")
    cores = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data).decode("ascii")
        start = (shift * 4 + 2) // 3 + 1  # past the characters the padding bytes touch
        end = len(encoded) - 4  # the last group may mix in what follows
        if end - start >= _SHORTEST:
            cores.add(encoded[start:end])
    return cores
