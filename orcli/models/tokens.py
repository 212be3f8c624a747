"""Prompt token counts: exact for the Mistral models in `orcli.models.tokenizers`, else an estimate.

Text is counted with Tekken's vocabulary (`orcli.models.tekken`); the chat template's
control tokens are counted as mistral-common (1.13) encodes a request for the model's
tokenizer version. Checked against mistral-common in tests/test_tokens.py. Template
v13 (Devstral 2):

  <s>                                     1, once
  [SYSTEM_PROMPT] text [/SYSTEM_PROMPT]   2 per system (or developer) message, where it
                                          stands
  [INST] text [/INST]                     2 per user turn; back-to-back user messages form
                                          one turn, their texts joined by a blank line
  [AVAILABLE_TOOLS] json [/AVAILABLE_TOOLS]
                                          2 + the tool list's JSON, once, just before the
                                          first user turn (so not at all without one)
  text [TOOL_CALLS] name [ARGS] json </s> per assistant turn, merged the same way: trailing
                                          spaces dropped, 2 per tool call, 1 for </s> unless
                                          the message is a `prefix` (a continued reply)
  [TOOL_RESULTS] text [/TOOL_RESULTS]     2 per tool message

Template v3 (Nemo, Ministral 8B, Mistral Small 2409, Pixtral 12B) differs:

  system prompts                          no tokens of their own: every system text,
                                          joined by blank lines, then a blank line, goes
                                          before the last user turn's text
  [AVAILABLE_TOOLS] json [/AVAILABLE_TOOLS]
                                          just before the last user turn
  [TOOL_CALLS] json </s>                  1 + one JSON list of {name, arguments, id}
  [TOOL_RESULTS] json [/TOOL_RESULTS]     2 + {"content": the result (parsed when it is
                                          JSON), "call_id": ...}

What mistral-common refuses for v3 (text beside tool calls in one message, a tool
result without its call id, no user message) is counted by the rules above and
labelled an estimate. v7 and v11 (no model in the table uses them) would count plain
conversations as v13 does; with tools they are estimates.

A content list's text parts count as their texts joined by blank lines, as mistral-common
joins them; any other part (image, audio, file) makes the count an estimate.
"""

from __future__ import annotations

import json
from typing import Any

from msgspec import Struct, field

from orcli.models.tekken import count_text_upto
from orcli.models.tokenizers import template_for

_BOS = 1  # <s>
_EOS = 1  # </s>
_PAIR = 2  # every [X] ... [/X] wrapper, and [TOOL_CALLS] + [ARGS] in a tool call
_JOIN = "\n\n"  # what mistral-common puts between the texts it merges


class TokenCount(Struct, frozen=True):
    """A prompt's token count; `exact` is False when it is an estimate.

    `complete` is False when counting stopped once past a limit: `tokens` is then a
    lower bound, more than the limit, and the true count is at least that.
    """

    tokens: int
    exact: bool
    complete: bool = True


class _Turn(Struct):
    """One message after mistral-common's merging of back-to-back user or assistant messages."""

    role: str
    texts: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    prefix: bool = False
    call_id: Any = None  # a tool message's tool_call_id


def uses_tekken(model: str) -> bool:
    """Whether orcli counts prompts for `model` exactly with the Tekken tokenizer."""
    return template_for(model) is not None


def count_prompt(
    model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
    limit: int | None = None,
) -> TokenCount:
    """Tokens the model reads for this request: exact for Tekken models, else an estimate.

    With a `limit`, counting may stop once the count passes it (`complete` is then False).
    """
    # Other models get the Tekken count, labelled an estimate. Their tokenizers are
    # other BPEs of similar size (GPT-4o's 200k, Llama 3's 128k, Qwen's 151k entries), so
    # a real BPE count follows what the text is made of (code, digits, runs of spaces,
    # scripts, emoji) where a fixed bytes-per-token ratio cannot; and `--compare` then
    # ranks models by price, not by how each one's tokens were guessed.
    version = template_for(model)
    turns, exact = _merge_turns(messages)
    if version == "v3":
        exact = exact and _v3_countable(turns) and _fold_system_prompts(turns)
    elif version != "v13" and (tools or any(t.role == "tool" or t.calls for t in turns)):
        exact = False  # v7 and v11 place tools and call ids otherwise: not counted here
    counter = _Counter(limit, version or "v13")
    counter.add_turns(turns, tools)
    return TokenCount(counter.total, exact and version is not None, counter.complete)


def _v3_countable(turns: list[_Turn]) -> bool:
    """Whether mistral-common takes these turns for v3: it refuses text beside tool calls
    in one assistant message, and a tool result without its call id."""
    return not any((t.texts and t.calls) or (t.role == "tool" and not t.call_id) for t in turns)


def _fold_system_prompts(turns: list[_Turn]) -> bool:
    """Template v3: system texts go before the last user turn's text; False: no user turn."""
    users = [turn for turn in turns if turn.role == "user"]
    systems = [text for turn in turns if turn.role == "system" for text in turn.texts]
    turns[:] = [turn for turn in turns if turn.role != "system"]
    if users and systems:
        users[-1].texts = [_JOIN.join(systems) + _JOIN + _JOIN.join(users[-1].texts)]
    return bool(users)  # mistral-common refuses a v3 request without a user message


def _merge_turns(messages: list[dict[str, Any]]) -> tuple[list[_Turn], bool]:
    """Merge messages as mistral-common's normaliser does; False if some part is not text."""
    turns: list[_Turn] = []
    exact = True
    for message in messages:
        role = message.get("role")
        if role == "developer":
            role = "system"
        elif role not in ("system", "user", "assistant", "tool"):
            role, exact = "user", False  # mistral-common would refuse it; guess a user turn
        texts, complete = _content_texts(message.get("content"))
        exact = exact and complete
        calls = list(message.get("tool_calls") or []) if role == "assistant" else []
        if turns and turns[-1].role == role and role in ("user", "assistant"):
            turns[-1].texts += texts
            turns[-1].calls += calls
        else:
            turns.append(_Turn(role, texts, calls, call_id=message.get("tool_call_id")))
        turns[-1].prefix = turns[-1].prefix or bool(message.get("prefix"))
    return turns, exact


def _content_texts(content: Any) -> tuple[list[str], bool]:
    """The non-empty texts of a message's content, and whether that was all of it."""
    if content is None or isinstance(content, str):
        return ([content] if content else []), True
    if not isinstance(content, list):
        return [str(content)], False
    texts: list[str] = []
    complete = True
    for part in content:
        if isinstance(part, dict) and part.get("type") == "text":
            if part.get("text"):
                texts.append(part["text"])
        else:
            complete = False
    return texts, complete


class _Counter:
    """Adds up template and content tokens of merged turns, stopping once past `limit`."""

    def __init__(self, limit: int | None, version: str) -> None:
        self.limit = limit
        self.version = version
        self.total = 0
        self.complete = True  # False once some text was left uncounted

    def text(self, text: str) -> None:
        left = None if self.limit is None else self.limit - self.total
        counted, whole = count_text_upto(text, left)
        self.total += counted
        self.complete = self.complete and whole

    def add_turns(self, turns: list[_Turn], tools: list[dict[str, Any]] | None) -> None:
        """Per the table in the module docstring."""
        if not turns:
            turns = [_Turn("user")]  # mistral-common sends an empty [INST][/INST]
        self.total += _BOS
        users = [index for index, turn in enumerate(turns) if turn.role == "user"]
        # Tools are listed before the first user turn (v13) or the last (v3).
        tools_at = (users[-1] if self.version == "v3" else users[0]) if users and tools else -1
        for index, turn in enumerate(turns):
            if self.limit is not None and self.total > self.limit:
                self.complete = False
                return
            if index == tools_at:
                self.total += _PAIR
                self.text(_tools_json(tools or []))
            if turn.role == "assistant":
                self.add_assistant(turn)
            elif turn.role == "tool" and self.version == "v3":
                result = {"content": _parsed("".join(turn.texts)), "call_id": turn.call_id}
                self.total += _PAIR
                self.text(json.dumps(result, ensure_ascii=False))
            else:
                self.total += _PAIR
                self.text(_JOIN.join(turn.texts))

    def add_assistant(self, turn: _Turn) -> None:
        """Text (trailing spaces dropped, as mistral-common does), tool calls and </s>."""
        self.text(_JOIN.join(turn.texts).rstrip(" "))
        if self.version == "v3" and turn.calls:
            # [TOOL_CALLS] and one JSON list of {name, arguments, id}.
            self.total += 1
            self.text(json.dumps([_v3_call(call) for call in turn.calls], ensure_ascii=False))
        for call in turn.calls if self.version != "v3" else []:
            function = call.get("function") or {}
            self.total += _PAIR
            self.text(str(function.get("name") or ""))
            self.text(_arguments_json(function.get("arguments")))
        self.total += 0 if turn.prefix else _EOS


def _v3_call(call: dict[str, Any]) -> dict[str, Any]:
    """A tool call as template v3 writes it: the id only when there is one."""
    function = call.get("function") or {}
    shaped = {"name": str(function.get("name") or ""),
              "arguments": json.loads(_arguments_json(function.get("arguments")))}
    if call.get("id") and call["id"] != "null":
        shaped["id"] = call["id"]
    return shaped


def _parsed(text: str) -> Any:
    """A tool result's text as JSON when it is JSON, else the text (as mistral-common does)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _arguments_json(arguments: Any) -> str:
    """Tool-call arguments re-serialised the way mistral-common sends them."""
    if arguments is None or arguments == "":
        return "{}"
    value = arguments
    if isinstance(arguments, str):
        try:
            value = json.loads(arguments)
        except ValueError:
            value = arguments  # not JSON: sent as a JSON string
    return json.dumps(value, ensure_ascii=False)


def _tools_json(tools: list[dict[str, Any]]) -> str:
    """The tool list as mistral-common serialises it: its own key order, no `strict`."""
    shaped = []
    for tool in tools:
        function = tool.get("function") or {}
        shaped.append({
            "type": tool.get("type", "function"),
            "function": {
                "name": function.get("name", ""),
                "description": function.get("description") or "",
                "parameters": function.get("parameters") or {},
            },
        })
    return json.dumps(shaped, ensure_ascii=False)
