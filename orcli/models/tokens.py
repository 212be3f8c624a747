"""Prompt token counts: exact for models on Mistral's Tekken tokenizer, else an estimate.

Exact counts use Tekken's own vocabulary (orcli/models/data/tekken_240911.bin, built by
scripts/build_tekken_data.py from mistral-common) through tiktoken, loaded on the first
count, never at import. The chat template is counted as mistral-common (1.13) encodes a
request for tokenizer version v13. Devstral 2 needs mistral-common >= 1.8.6, and the chat
template published with Devstral Small 2 (same release) lists the tools once at the start
and writes tool calls and results without call ids: v13 is the version that does both
(v7 and v11 differ on exactly these points). Checked against mistral-common in
tests/test_tokens.py:

  <s>                                     1, once
  [SYSTEM_PROMPT] text [/SYSTEM_PROMPT]   2 per system (or developer) message, where it
                                          stands; v13 no longer folds it into the last user
                                          message as v3 did
  [INST] text [/INST]                     2 per user turn; back-to-back user messages form
                                          one turn, their texts joined by a blank line
  [AVAILABLE_TOOLS] json [/AVAILABLE_TOOLS]
                                          2 + the tool list's JSON, once, just before the
                                          first user turn (so not at all without one)
  text [TOOL_CALLS] name [ARGS] json </s> per assistant turn, merged the same way: trailing
                                          spaces dropped, 2 per tool call, 1 for </s> unless
                                          the message is a `prefix` (a continued reply)
  [TOOL_RESULTS] text [/TOOL_RESULTS]     2 per tool message

A content list's text parts count as their texts joined by blank lines, as mistral-common
joins them; any other part (image, audio, file) makes the count an estimate.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

# OpenRouter ids of the models counted exactly: only models known to use both the
# tekken_240911 vocabulary (130,072 ranks + 1,000 control tokens = 131,072, Devstral 2's
# vocabulary size) and the v13 template. Other Tekken models stay out on purpose:
# mistral-common maps Nemo, Ministral 8B, Mistral Small 2409 and Pixtral 12B (same ranks:
# tekken_240718's equal tekken_240911's) to template v3, which places the system prompt
# and tools elsewhere; for Devstral Small 2, Mistral Large 3 and Ministral 3 the template
# version has not been checked here.
TEKKEN_MODELS: frozenset[str] = frozenset({"mistralai/devstral-2512"})

# OpenRouter id suffixes that only change routing or price, not the model that runs.
_SAME_MODEL_VARIANTS = frozenset({"free", "nitro", "floor"})

_DATA_FILE = "tekken_240911.bin"
_DATA_FORMAT = 2

_BOS = 1  # <s>
_EOS = 1  # </s>
_PAIR = 2  # every [X] ... [/X] wrapper, and [TOOL_CALLS] + [ARGS] in a tool call
_JOIN = "\n\n"  # what mistral-common puts between the texts it merges

# tiktoken's regex engine gives up on a single whitespace piece of about a million
# characters: a ValueError in tiktoken 0.14, a pyo3 PanicException (which `except
# Exception` misses) in 0.7. Text holding a run of _LONG_RUN goes to
# `_count_with_long_runs`, which never hands tiktoken's regex such a piece. The class
# below is Unicode White_Space, what \s means in Tekken's pattern; Python's own \s would
# add U+001C..U+001F.
_LONG_RUN = 100_000
_WHITE_SPACE = r"[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
# A letter or number followed by whitespace: no Tekken piece spans that gap (for the
# `regex` module, as for tiktoken, \s is White_Space). (?r) searches from the right.
_LETTER_THEN_SPACE = r"[\p{L}\p{N}](?=\s)"
_LETTER_THEN_SPACE_LAST = r"(?r)[\p{L}\p{N}](?=\s)"


@dataclass(frozen=True)
class TokenCount:
    """A prompt's token count; `exact` is False when it is an estimate."""

    tokens: int
    exact: bool


@dataclass
class _Turn:
    """One message after mistral-common's merging of back-to-back user or assistant messages."""

    role: str
    texts: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    prefix: bool = False


def uses_tekken(model: str) -> bool:
    """Whether orcli counts prompts for `model` exactly with the Tekken tokenizer."""
    base, _, variant = model.partition(":")
    return base in TEKKEN_MODELS and (not variant or variant in _SAME_MODEL_VARIANTS)


def count_text(text: str) -> int:
    """Exact number of Tekken tokens in `text`, with no chat template around it."""
    if len(text) >= _LONG_RUN and _may_hold_long_run(text) and re.search(_long_run_pattern(), text):
        return _count_with_long_runs(text)
    return len(_tekken()[0].encode_ordinary(text))


def count_prompt(
    model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
) -> TokenCount:
    """Tokens the model reads for this request: exact for Tekken models, else an estimate."""
    # Other models get the same Tekken count, labelled an estimate. Their tokenizers are
    # other BPEs of similar size (GPT-4o's 200k, Llama 3's 128k, Qwen's 151k entries), so
    # a real BPE count follows what the text is made of (code, digits, runs of spaces,
    # scripts, emoji) where a fixed bytes-per-token ratio cannot; and `--compare` then
    # ranks models by price, not by how each one's tokens were guessed.
    turns, exact = _merge_turns(messages)
    return TokenCount(_count_turns(turns, tools), exact and uses_tekken(model))


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
            turns.append(_Turn(role, texts, calls))
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


def _count_turns(turns: list[_Turn], tools: list[dict[str, Any]] | None) -> int:
    """Template and content tokens of merged turns, per the table in the module docstring."""
    if not turns:
        turns = [_Turn("user")]  # mistral-common sends an empty [INST][/INST]
    total = _BOS
    tools_left = bool(tools)
    for turn in turns:
        if turn.role == "user" and tools_left:
            total += _PAIR + count_text(_tools_json(tools or []))
            tools_left = False
        if turn.role == "assistant":
            total += _count_assistant(turn)
        else:
            total += _PAIR + count_text(_JOIN.join(turn.texts))
    return total


def _count_assistant(turn: _Turn) -> int:
    """Text (trailing spaces dropped, as mistral-common does), tool calls and </s>."""
    total = count_text(_JOIN.join(turn.texts).rstrip(" "))
    for call in turn.calls:
        function = call.get("function") or {}
        total += _PAIR + count_text(str(function.get("name") or ""))
        total += count_text(_arguments_json(function.get("arguments")))
    return total + (0 if turn.prefix else _EOS)


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


def _count_with_long_runs(text: str) -> int:
    """Count text with huge whitespace runs, cutting it only where Tekken's pieces end.

    tiktoken splits text into pieces with Tekken's regex and encodes each piece alone,
    so cutting text where one piece ends, before a whitespace character, changes no
    count. A letter or number followed by whitespace always marks such a place; so does
    the start of each whitespace piece that Python's `regex` module (tiktoken's own
    dependency) finds with the same pattern in the stretch around a long run. The
    pieces too long for tiktoken's regex are then encoded on their own, without it.
    """
    import regex  # a dependency of tiktoken, and loaded by it already

    encoding = _tekken()[0]
    text = _without_surrogates(text)
    total = done = 0
    for run in re.finditer(_long_run_pattern(), text):
        if run.start() < done:
            continue  # inside the stretch counted for the previous run
        before = regex.search(_LETTER_THEN_SPACE_LAST, text, pos=done, endpos=run.start() + 1)
        after = regex.search(_LETTER_THEN_SPACE, text, pos=run.end())
        start = before.end() if before else done
        end = after.end() if after else len(text)
        total += len(encoding.encode_ordinary(text[done:start]))
        total += _count_stretch(text[start:end])
        done = end
    return total + len(encoding.encode_ordinary(text[done:]))


def _may_hold_long_run(text: str) -> bool:
    """A fast filter for `_long_run_pattern`: False means text holds no such run."""
    # A run of _LONG_RUN characters covers a whole block of half that length starting at a
    # multiple of the half, and str.isspace stops at a block's first other character, so
    # this looks at few characters where the regex (12 ms per MiB) looks at each.
    # isspace's whitespace is \s plus U+001C..U+001F: a superset, as a filter needs.
    half = _LONG_RUN // 2
    blocks = range(0, len(text) - half + 1, half)
    return any(text[start : start + half].isspace() for start in blocks)


def _long_run_pattern() -> str:
    """A maximal whitespace run of at least _LONG_RUN characters (re caches the compiled form)."""
    return rf"(?<!{_WHITE_SPACE}){_WHITE_SPACE}{{{_LONG_RUN},}}"


def _count_stretch(stretch: str) -> int:
    """Count a stretch that starts and ends on piece boundaries, piece by long piece."""
    import regex

    encoding, pattern = _tekken()
    total = cut = 0
    for piece in regex.finditer(pattern, stretch):
        # Only whitespace pieces trouble tiktoken's regex, and only before whitespace is
        # a cut safe: at any other character the regex's (?!\S) would see something else
        # than the end of the string, and the text before the cut could split otherwise.
        too_long = piece.end() - piece.start() >= _LONG_RUN
        if too_long and re.match(_WHITE_SPACE, piece.group()):
            total += len(encoding.encode_ordinary(stretch[cut : piece.start()]))
            # Byte-pair encoding of this one piece, without the regex.
            total += len(encoding._encode_single_piece(piece.group().encode("utf-8")))
            cut = piece.end()
    return total + len(encoding.encode_ordinary(stretch[cut:]))


def _without_surrogates(text: str) -> str:
    """Replace lone surrogates with U+FFFD, as tiktoken does before it encodes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


@functools.cache
def _tekken() -> tuple[Any, str]:
    """The Tekken tiktoken.Encoding and its regex pattern, read from orcli's data file once."""
    import tiktoken

    # A path beside this module rather than importlib.resources, whose import costs
    # about 3 ms: pip installs orcli as plain files, never zipped.
    with open(os.path.join(os.path.dirname(__file__), "data", _DATA_FILE), "rb") as file:
        raw = file.read()
    header_line, _, body = raw.partition(b"\n")
    header = json.loads(header_line)
    if header["format"] != _DATA_FORMAT:
        raise RuntimeError(f"{_DATA_FILE}: unknown format {header['format']}")
    # Ranks 0-255 are the single bytes; the file holds the longer tokens NUL-separated (see
    # scripts/build_tekken_data.py), so bytes.split makes every key in one C call.
    # Token ids would be rank + 1,000 (the control tokens come first); counts need no ids.
    ranks = {bytes([byte]): byte for byte in range(256)}
    ranks.update(zip(body.split(b"\0"), range(256, header["ranks"]), strict=True))
    encoding = tiktoken.Encoding(
        name=header["name"], pat_str=header["pattern"], mergeable_ranks=ranks, special_tokens={}
    )
    return encoding, header["pattern"]
