"""Build the conversation from prompt words, stdin, files and --messages.

Pure: the caller reads the bytes; this module decodes, checks and assembles.
Nothing is trimmed or dropped: what the user typed or piped is sent as is.
"""

from __future__ import annotations

from collections.abc import Sequence

from msgspec import Struct

from orcli.errors import UsageError
from orcli.request.payload import parse_json_flag

ROLES = frozenset({"system", "user", "assistant", "tool", "developer"})


STDIN = "stdin"  # the label of what was read from stdin


class Source(Struct, frozen=True):
    """One piece of input: where it came from (for error messages) and its bytes."""

    label: str
    data: bytes


def decode_input(source: Source) -> str:
    """Decode strict UTF-8, naming the source and byte offset when it is not."""
    try:
        return source.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{source.label} is not valid UTF-8 (byte {exc.start}); nothing was sent"
        ) from None


def build_user_text(words: Sequence[str], pieces: Sequence[Source]) -> str | None:
    """PROMPT words, then stdin and each file, joined by blank lines; None when empty."""
    parts = [" ".join(words)] if words else []
    parts += [decode_input(piece) for piece in pieces]
    parts = [part for part in parts if part != ""]
    return "\n\n".join(parts) if parts else None


def build_messages(
    words: Sequence[str],
    pieces: Sequence[Source],
    system: str | None = None,
    conversation: Source | None = None,
) -> list[dict]:
    """The messages array: -s first, then --messages or the one user message."""
    if conversation is not None:
        if words or any(not p.label.startswith("stdin") for p in pieces):
            raise UsageError("--messages replaces PROMPT, stdin and -f; give one or the other")
        messages = parse_conversation(conversation)
    else:
        text = build_user_text(words, pieces)
        if text is None:
            if any(piece.label == STDIN and not piece.data for piece in pieces):
                raise UsageError("no prompt: stdin was piped but empty; give PROMPT words, "
                                 "pipe some text, or use -f FILE / --messages")
            raise UsageError(
                "no prompt: give PROMPT words, pipe text on stdin, or use -f FILE / --messages"
            )
        messages = [{"role": "user", "content": text}]
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    return messages


def parse_conversation(source: Source) -> list[dict]:
    """Parse and check a --messages JSON array of {role, content} objects."""
    return check_messages(parse_json_flag(decode_input(source), source.label), source.label)


def check_messages(value: object, label: str) -> list[dict]:
    """`value` when it is a non-empty array of valid messages; exit 2 naming the first bad one."""
    if not isinstance(value, list) or not value:
        raise UsageError(f"{label} must be a non-empty JSON array of messages")
    for index, message in enumerate(value):
        _check_message(message, f"{label} message {index}")
    return value


def _check_message(message: object, where: str) -> None:
    if not isinstance(message, dict):
        raise UsageError(f"{where} must be an object with role and content")
    role = message.get("role")
    if role not in ROLES:
        raise UsageError(f"{where}: role must be one of {', '.join(sorted(ROLES))}")
    content = message.get("content")
    calls = message.get("tool_calls")
    if calls is not None and not (isinstance(calls, list) and all(_is_call(c) for c in calls)):
        raise UsageError(f"{where}: tool_calls must be a list of objects with a function object")
    if content is None and role == "assistant" and calls:
        return
    if isinstance(content, str):
        return
    if isinstance(content, list) and all(_is_part(p) for p in content):
        return
    raise UsageError(f"{where}: content must be a string or a list of parts with a type "
                     "(a text part with a string text)")


def _is_part(part: object) -> bool:
    if not isinstance(part, dict) or "type" not in part:
        return False
    return part["type"] != "text" or isinstance(part.get("text"), str)


def _is_call(call: object) -> bool:
    return isinstance(call, dict) and isinstance(call.get("function", {}), dict)
