"""One `orcli batch` input line -> its row id and request body; the flags are the defaults.

Pure: the caller reads the lines; this module decodes, checks and merges them.
A row's own fields win over the command-line flags. Every check here runs
before anything is sent, so a bad line stops the whole run with exit 2.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import msgspec
from msgspec import Struct

from orcli.errors import UsageError
from orcli.request.messages import Source, check_messages, decode_input
from orcli.request.payload import RANGES, check_range, parse_json_flag

# Fields of an object row that are not body fields.
ROW_ONLY = frozenset({"id", "prompt", "system"})
OPENAI_BATCH_KEYS = frozenset({"custom_id", "method", "url", "body"})


class Defaults(Struct, frozen=True):
    """What the flags give every row: a body without messages, and the -s text."""

    body: Mapping[str, Any]
    system: str | None = None


class Row(Struct, frozen=True):
    """One input row, ready to send: its id, 1-based line number and compact body."""

    id: str
    line: int
    body: bytes  # compact JSON: 10,000 rows must not cost 10,000 dicts of memory

    def body_dict(self) -> dict[str, Any]:
        """The request body as a dict."""
        value: dict[str, Any] = json.loads(self.body)
        return value


def parse_row(data: bytes, line: int, defaults: Defaults) -> Row:
    """A Row from one input line, or exit 2 naming the line and the problem."""
    where = f"line {line}"
    value = parse_json_flag(decode_input(Source(where, data)), where)
    if isinstance(value, str):
        value = {"prompt": value}
    if not isinstance(value, dict):
        raise UsageError(f"{where}: expected a JSON string or object, not {_kind(value)}")
    if "custom_id" in value:
        row_id, fields, system = _openai_line(value, where), dict(value["body"]), None
    else:
        row_id, fields, system = _object_line(value, where)
    body = merge_body(fields, defaults, system, where)
    return Row(row_id if row_id is not None else str(line), line, compact(body))


def _openai_line(value: dict[str, Any], where: str) -> str:
    """The id of an OpenAI batch line {"custom_id", "method", "url", "body"}."""
    extra = set(value) - OPENAI_BATCH_KEYS
    if extra:
        raise UsageError(f"{where}: an OpenAI batch line has no field {sorted(extra)[0]!r}")
    if value.get("method", "POST") != "POST":
        raise UsageError(f"{where}: method must be POST, not {value.get('method')!r}")
    url = value.get("url", "/v1/chat/completions")
    if not isinstance(url, str) or not url.endswith("/chat/completions"):
        raise UsageError(f"{where}: url must be /v1/chat/completions, not {url!r}")
    if not isinstance(value.get("body"), dict) or "messages" not in value["body"]:
        raise UsageError(f"{where}: body must be an object with messages")
    return _row_id(value["custom_id"], "custom_id", where)


def _object_line(value: dict[str, Any], where: str) -> tuple[str | None, dict[str, Any],
                                                             str | None]:
    """The id, body fields and system text of an object row with prompt and/or messages."""
    if "prompt" not in value and "messages" not in value:
        raise UsageError(f"{where}: an object row needs prompt or messages")
    row_id = _row_id(value["id"], "id", where) if "id" in value else None
    fields = {k: v for k, v in value.items() if k not in ROW_ONLY}
    prompt, system = value.get("prompt"), value.get("system")
    if prompt is not None and not isinstance(prompt, str):
        raise UsageError(f"{where}: prompt must be a string")
    if system is not None and not isinstance(system, str):
        raise UsageError(f"{where}: system must be a string")
    messages = list(fields.pop("messages", None) or [])
    if prompt is not None:
        messages.append({"role": "user", "content": prompt})
    fields["messages"] = messages
    return row_id, fields, system


def _row_id(value: object, name: str, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise UsageError(f"{where}: {name} must be a non-empty string or an integer")
    return str(value)


def merge_body(fields: dict[str, Any], defaults: Defaults, system: str | None,
               where: str) -> dict[str, Any]:
    """The flags' body with the row's fields over it, checked as chat checks flags."""
    body = dict(defaults.body)
    body.update(fields)
    messages = check_messages(body.get("messages"), where)
    has_system = any(m.get("role") == "system" for m in messages)
    if system is None and not has_system:
        system = defaults.system  # -s, unless the row brings its own system message
    if system is not None:
        messages = [{"role": "system", "content": system}, *messages]
    body["messages"] = messages
    check_fields(body, where)
    return body


def check_fields(body: dict[str, Any], where: str) -> None:
    """The range and type checks chat makes on its flags, for a row's own values."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise UsageError(f"{where}: model must be a non-empty string")
    if body.get("stream"):
        raise UsageError(f"{where}: batch does not stream; drop \"stream\"")
    for name in RANGES:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"{where}: {name} must be a number")
        try:
            check_range(name, float(value))
        except UsageError as exc:
            raise UsageError(f"{where}: {exc.message}") from None
    limit = body.get("max_tokens")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or limit < 1):
        raise UsageError(f"{where}: max_tokens must be a whole number of 1 or more")


def compact(body: dict[str, Any]) -> bytes:
    """The body as compact UTF-8 JSON, as the client sends it."""
    return msgspec.json.encode(body)


def parse_shard(text: str) -> tuple[int, int]:
    """--shard K/N as (K, N), 1 <= K <= N; exit 2 otherwise."""
    k, sep, n = text.partition("/")
    if sep and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n):
        return int(k), int(n)
    raise UsageError(f"--shard expects K/N with 1 <= K <= N, like 2/8, not {text!r}")


def in_shard(line: int, shard: tuple[int, int] | None) -> bool:
    """Whether the row on this 1-based line belongs to shard K of N."""
    return shard is None or (line - 1) % shard[1] == shard[0] - 1


def _kind(value: object) -> str:
    return {list: "an array", int: "a number", float: "a number", bool: "true or false",
            type(None): "null"}.get(type(value), type(value).__name__)
