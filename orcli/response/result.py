"""One answer model: a `Result`, built from a whole JSON answer or from stream events.

Chat and stream output, `--json`/`--jsonl`, conversation files, the ledger and
batch all read a Result, so they agree on what the answer was.
"""

from __future__ import annotations

from typing import Any

from msgspec import Struct

from orcli.errors import UpstreamError
from orcli.response.events import (
    Content,
    Done,
    Event,
    Reasoning,
    ToolCall,
    Usage,
    parse_arguments,
    parse_usage,
)


class Result(Struct, frozen=True):
    """What the model answered, and the facts about the call that came with it."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str = ""
    reasoning_details: tuple[dict[str, Any], ...] = ()
    usage: Usage | None = None
    finish_reason: str | None = None
    id: str | None = None  # the generation id
    model: str | None = None  # the model that served, which a fallback may change
    provider: str | None = None
    cache_status: str | None = None  # X-OpenRouter-Cache-Status, e.g. "HIT"
    raw: dict[str, Any] | None = None  # the JSON answer, for --json

    @property
    def cached(self) -> bool:
        return (self.cache_status or "").upper() == "HIT"

    def tool_call_dicts(self) -> list[dict[str, Any]]:
        """The tool calls as chat prints them: [{"id", "name", "arguments"}]."""
        return [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls]

    def assistant_message(self) -> dict[str, Any]:
        """The assistant message as the API gave it, for a conversation file."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text}
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": c.raw_arguments}}
                for c in self.tool_calls]
        if self.reasoning:
            message["reasoning"] = self.reasoning
        if self.reasoning_details:
            message["reasoning_details"] = list(self.reasoning_details)
        return message


def result_from_answer(answer: dict[str, Any], cache_status: str | None = None) -> Result:
    """The Result of a whole (non-streamed) JSON answer; exit 7 when it has no usable choice."""
    choice = _first_choice(answer)
    message = choice.get("message") or {}
    if not isinstance(message, dict):
        raise UpstreamError("the answer's message is not a JSON object")
    usage = answer.get("usage")
    reasoning = message.get("reasoning") or message.get("reasoning_content")
    details = message.get("reasoning_details")
    return Result(
        text=message_text(message.get("content")),
        tool_calls=_tool_calls(message.get("tool_calls")),
        reasoning=reasoning if isinstance(reasoning, str) else "",
        reasoning_details=_dicts(details),
        usage=parse_usage(usage) if isinstance(usage, dict) else None,
        finish_reason=_string(choice.get("finish_reason")),
        id=_string(answer.get("id")),
        model=_string(answer.get("model")),
        provider=_string(answer.get("provider")),
        cache_status=cache_status,
        raw=answer,
    )


# The most text and reasoning one streamed answer may hold: no model writes this
# much (it is millions of tokens), and a server that never stops must not take
# all the memory there is, as each event it sends also holds off --timeout.
MAX_ANSWER_CHARS = 64 * 1024 * 1024


class ResultBuilder:
    """Folds stream events into a Result; `add` takes each event as it is handled."""

    def __init__(self, cache_status: str | None = None) -> None:
        self.cache_status = cache_status
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: list[ToolCall] = []
        self.usage: Usage | None = None
        self.done: Done | None = None
        self.held = 0  # characters of text and reasoning so far

    def add(self, event: Event) -> None:
        kind = type(event)
        if kind is Content:
            self._hold(self.text, event.text)  # type: ignore[union-attr]
        elif kind is Reasoning:
            self._hold(self.reasoning, event.text)  # type: ignore[union-attr]
        elif kind is ToolCall:
            self.calls.append(event)  # type: ignore[arg-type]
        elif kind is Usage:
            self.usage = event  # type: ignore[assignment]
        elif kind is Done:
            self.done = event  # type: ignore[assignment]

    def _hold(self, parts: list[str], text: str) -> None:
        self.held += len(text)
        if self.held > MAX_ANSWER_CHARS:
            raise UpstreamError(f"the stream sent more than {MAX_ANSWER_CHARS >> 20} M "
                                "characters of text; gave up")
        parts.append(text)

    def build(self) -> Result:
        done = self.done or Done(None, None, None)
        return Result(
            text="".join(self.text), tool_calls=tuple(self.calls),
            reasoning="".join(self.reasoning), reasoning_details=done.reasoning_details,
            usage=self.usage, finish_reason=done.finish_reason, id=done.id, model=done.model,
            provider=done.provider, cache_status=self.cache_status,
        )


def message_text(content: object) -> str:
    """The message's text: a string, or the text parts of a list; exit 7 otherwise."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise UpstreamError("the answer's content is neither text nor a list of parts")
    return "".join(p["text"] for p in content
                   if isinstance(p, dict) and isinstance(p.get("text"), str))


def _first_choice(answer: dict[str, Any]) -> dict[str, Any]:
    choices = answer.get("choices")
    if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise UpstreamError("the answer has no choices (the provider returned nothing)")
    return choices[0]


def _tool_calls(calls: object) -> tuple[ToolCall, ...]:
    if not calls:
        return ()
    if not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls):
        raise UpstreamError("the answer's tool_calls are not a list of objects")
    out = []
    for call in calls:
        function = call.get("function") or {}
        if not isinstance(function, dict):
            raise UpstreamError("the answer has a tool call whose function is not an object")
        arguments = function.get("arguments")
        raw = arguments if isinstance(arguments, str) else _json_text(arguments)
        out.append(ToolCall(_string(call.get("id")) or "", _string(function.get("name")) or "",
                            parse_arguments(arguments), raw))
    return tuple(out)


def _json_text(value: object) -> str:
    import json

    return "" if value is None else json.dumps(value, ensure_ascii=False)


def _dicts(value: object) -> tuple[dict[str, Any], ...]:
    return tuple(v for v in value if isinstance(v, dict)) if isinstance(value, list) else ()


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
