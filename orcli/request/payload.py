"""Turn settings, messages and body flags into the chat-completion request body.

Pure: flags that take JSON arrive as text already read from their files.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from msgspec import Struct

from orcli.errors import UsageError
from orcli.options import BodyOptions

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


class BodyFiles(Struct, frozen=True):
    """The text of the files the body flags name, read before building (see orcli.io)."""

    schema: str | None = None
    schema_name: str = "response"
    tools: str | None = None


NO_FILES = BodyFiles()  # no schema or tools file named

# Body fields that have a flag of their own: `-o` may set them only when the flag
# is not given, and then gets the flag's checks.
FLAG_FIELDS = {
    "temperature": "-t/--temperature", "top_p": "--top-p", "max_tokens": "--max-tokens",
    "stop": "--stop", "seed": "--seed", "frequency_penalty": "--frequency-penalty",
    "presence_penalty": "--presence-penalty", "response_format": "--schema/--json-object",
    "tools": "--tools", "tool_choice": "--tool-choice",
}


def build_payload(
    model: str, messages: list[dict], opts: BodyOptions, files: BodyFiles = NO_FILES,
    stream: bool = False,
) -> dict[str, Any]:
    """The JSON body for POST /chat/completions."""
    body: dict[str, Any] = {"model": model, "messages": messages}
    flagged = _sampling_fields(opts) | _format_fields(opts, files)
    body.update(flagged)
    for raw in opts.options:
        key, value = parse_option(raw)
        if key in flagged:
            raise UsageError(f"-o {key}=... and {FLAG_FIELDS[key]} both set {key}; give one")
        body[key] = check_option_value(key, value)
    if stream:
        body["stream"] = True
        # Servers other than OpenRouter report usage in a stream only when asked.
        body.setdefault("stream_options", {"include_usage": True})
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


def check_range(name: str, value: float, flag: str | None = None) -> float:
    """Refuse a value outside the API's documented range (exit 2)."""
    low, high = RANGES[name]
    if math.isnan(value) or not low <= value <= high:
        flag = flag or FLAG_FIELDS[name]
        raise UsageError(f"{flag} must be between {low:g} and {high:g}, not {value:g}")
    return value


def _format_fields(opts: BodyOptions, files: BodyFiles) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if opts.schema is not None and opts.json_object:
        raise UsageError("--schema and --json-object ask for different formats; give one")
    if files.schema is not None:
        schema = parse_json_flag(files.schema, "--schema")
        if not isinstance(schema, dict):
            raise UsageError("--schema must be a JSON object (a JSON Schema)")
        fields["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": _schema_name(files.schema_name), "strict": True,
                            "schema": schema},
        }
    elif opts.json_object:
        fields["response_format"] = {"type": "json_object"}
    if files.tools is not None:
        fields["tools"] = check_tools(parse_json_flag(files.tools, "--tools"), "--tools")
    if opts.tool_choice is not None:
        fields["tool_choice"] = parse_tool_choice(opts.tool_choice)
    return fields


def check_tools(tools: object, flag: str) -> list[Any]:
    """A JSON array of tool objects, or exit 2."""
    if not isinstance(tools, list) or not all(_is_tool(t) for t in tools):
        raise UsageError(f"{flag} must be a JSON array of tool objects, "
                         'e.g. [{"type": "function", "function": {"name": ...}}]')
    return tools


def check_option_value(key: str, value: Any) -> Any:
    """An `-o` value for a field that has a flag, checked as that flag checks it."""
    flag = f"-o {key}"
    if key in RANGES:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UsageError(f"{flag} must be a number, not {value!r}")
        check_range(key, float(value), flag)
    elif key in ("max_tokens", "seed"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{flag} must be a whole number, not {value!r}")
        if key == "max_tokens" and value < 1:
            raise UsageError(f"{flag} must be 1 or more, not {value}")
    elif key == "stop":
        if not (isinstance(value, str) or (isinstance(value, list)
                                           and all(isinstance(v, str) for v in value))):
            raise UsageError(f"{flag} must be a string or a JSON array of strings")
    elif key == "tools":
        check_tools(value, flag)
    elif key in ("response_format", "tool_choice") and not isinstance(value, dict | str):
        raise UsageError(f"{flag} must be a JSON object or a string")
    return value


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
