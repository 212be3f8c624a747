"""Turn settings, messages and body flags into the chat-completion request body.

Pure: flags that take JSON arrive as text already read from their files.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orcli.errors import UsageError

# Ranges documented by OpenRouter's parameters page; checked before sending.
RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "frequency_penalty": (-2.0, 2.0),
    "presence_penalty": (-2.0, 2.0),
}

# Keys that have their own flag or command; `-o` may not override them silently.
RESERVED_OPTIONS = {
    "model": "use -m/--model",
    "messages": "use --messages",
    "stream": "use `orcli stream` or `orcli chat`",
}

TOOL_CHOICE_WORDS = frozenset({"auto", "none", "required"})


@dataclass
class BodyOptions:
    """The body flags of chat and stream, as the user gave them (None = not given)."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: Sequence[str] = ()
    seed: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    options: Sequence[str] = ()
    schema: str | None = None
    schema_name: str = "response"
    json_object: bool = False
    tools: str | None = None
    tool_choice: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def build_payload(
    model: str, messages: list[dict], opts: BodyOptions, stream: bool = False
) -> dict[str, Any]:
    """The JSON body for POST /chat/completions."""
    body: dict[str, Any] = {"model": model, "messages": messages}
    body.update(_sampling_fields(opts))
    body.update(_format_fields(opts))
    for raw in opts.options:
        key, value = parse_option(raw)
        body[key] = value
    if stream:
        body["stream"] = True
    return body


def _sampling_fields(opts: BodyOptions) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in ("temperature", "top_p", "frequency_penalty", "presence_penalty"):
        value = getattr(opts, name)
        if value is not None:
            fields[name] = check_range(name, value)
    if opts.max_tokens is not None:
        if opts.max_tokens < 1:
            raise UsageError(f"--max-tokens must be 1 or more, not {opts.max_tokens}")
        fields["max_tokens"] = opts.max_tokens
    if opts.seed is not None:
        fields["seed"] = opts.seed
    if opts.stop:
        fields["stop"] = list(opts.stop)
    return fields


def check_range(name: str, value: float) -> float:
    """Refuse a value outside the API's documented range (exit 2)."""
    low, high = RANGES[name]
    if math.isnan(value) or not low <= value <= high:
        flag = "--" + name.replace("_", "-")
        raise UsageError(f"{flag} must be between {low:g} and {high:g}, not {value:g}")
    return value


def _format_fields(opts: BodyOptions) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if opts.schema is not None and opts.json_object:
        raise UsageError("--schema and --json-object ask for different formats; give one")
    if opts.schema is not None:
        schema = parse_json_flag(opts.schema, "--schema")
        if not isinstance(schema, dict):
            raise UsageError("--schema must be a JSON object (a JSON Schema)")
        fields["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": _schema_name(opts.schema_name), "strict": True,
                            "schema": schema},
        }
    elif opts.json_object:
        fields["response_format"] = {"type": "json_object"}
    if opts.tools is not None:
        tools = parse_json_flag(opts.tools, "--tools")
        if not isinstance(tools, list) or not all(_is_tool(t) for t in tools):
            raise UsageError("--tools must be a JSON array of tool objects, "
                             'e.g. [{"type": "function", "function": {"name": ...}}]')
        fields["tools"] = tools
    if opts.tool_choice is not None:
        fields["tool_choice"] = parse_tool_choice(opts.tool_choice)
    return fields


def _is_tool(tool: object) -> bool:
    return isinstance(tool, dict) and isinstance(tool.get("function", {}), dict)


def _schema_name(name: str) -> str:
    # The API accepts only letters, digits, '_' and '-' in a schema name.
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "response"


def parse_json_flag(text: str, flag: str) -> Any:
    """Parse JSON given to a flag, or exit 2 naming the flag and the problem.

    Stricter than json.loads: NaN and Infinity are not JSON and no API takes
    them, and a lone surrogate escape ("\\ud800") cannot be sent as UTF-8.
    """
    try:
        value = _loads_finite(text)
    except ValueError as exc:  # JSONDecodeError included
        raise UsageError(f"{flag}: not valid JSON: {exc}") from None
    except RecursionError:
        raise UsageError(f"{flag}: JSON nested too deeply") from None
    check_sendable(value, flag)
    return value


def _loads_finite(text: str) -> Any:
    """json.loads, refusing NaN, Infinity and numbers too big for a float (1e999)."""
    value = json.loads(text, parse_constant=_refuse_constant)
    json.dumps(value, allow_nan=False)  # ValueError for an inf that 1e999 became
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_sendable(value: Any, flag: str) -> None:
    """Exit 2 when a value parsed from JSON holds text that UTF-8 cannot carry."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{flag}: holds a lone surrogate escape such as \\ud800, "
                         "which cannot be sent as UTF-8") from None


def parse_tool_choice(text: str) -> Any:
    """auto/none/required, a JSON object, or a bare function name."""
    if text in TOOL_CHOICE_WORDS:
        return text
    if text.lstrip().startswith("{"):
        return parse_json_flag(text, "--tool-choice")
    return {"type": "function", "function": {"name": text}}


def parse_option(raw: str) -> tuple[str, Any]:
    """Split `-o KEY=VALUE`; VALUE is JSON when it parses, else the plain string."""
    key, sep, text = raw.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UsageError(f"-o expects KEY=VALUE, got {raw!r}")
    if key in RESERVED_OPTIONS:
        raise UsageError(f"-o {key}=... is not allowed: {RESERVED_OPTIONS[key]}")
    try:
        value = _loads_finite(text)
    except (ValueError, RecursionError):  # not JSON (NaN, 1e999 included): the plain string
        return key, text
    check_sendable(value, f"-o {key}")
    return key, value
