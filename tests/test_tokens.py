"""Tekken token counts, checked against mistral-common's own tokenizer."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import mistral_common
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mistral_common.protocol.instruct.request import ChatCompletionRequest
from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

from orcli.models import tekken
from orcli.models.tekken import count_text, count_text_upto, slices
from orcli.models.tokens import TokenCount, count_prompt, uses_tekken

DATA_FILE = Path(tekken.__file__).parent / "data" / "tekken_240911.bin"
DATA_SHA256 = "e4f3aa51c86c92e2a2f355fbf57a2e1d5be6ee2f12d606d88bca4aa47947702c"
SOURCE_JSON = Path(mistral_common.__file__).parent / "data" / "tekken_240911.json"
DEVSTRAL = "mistralai/devstral-2512"

CODE = 'def greet(name: str) -> str:\n    """Hi."""\n\treturn f"Hello, {name}!"  # note   \n'
PROSE = "The quick brown fox: naïve café, Straße; l'été «déjà vu»... It's 3.14 o'clock!"
JSON_TEXT = json.dumps({"id": 42, "tags": ["a", "b"], "nested": {"ok": True, "r": 0.5}}, indent=2)
CJK = "中文分词测试。日本語のテキスト、カタカナ。한국어 문장입니다."
EMOJI = "👍🏽 👨‍👩‍👧‍👦 🇫🇷 ✨ flag⚑"
ODD_SPACE = "line\u2028sep\u2029para\u00a0nbsp\u3000wide\x0bvt\x0cff\r\ncrlf\x1c\x1fend"
LONG_SPACE = "start" + " " * 5000 + "\n" * 300 + "\t" * 777 + "end"
# Runs over 100,000 characters: counted by the path that keeps tiktoken's regex off them.
HUGE_RUN = "x." + " \t" * 60_000 + "\n" + " " * 130_000 + "y\u2028" + "\u3000" * 100_001
SURROGATE = "lone \ud800 surrogate"

SAMPLES = [
    "", "a", " ", CODE, PROSE, JSON_TEXT, CJK, EMOJI, ODD_SPACE, LONG_SPACE, HUGE_RUN, SURROGATE,
    CODE + PROSE + JSON_TEXT + CJK + EMOJI + ODD_SPACE,
]

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a file — UTF-8 only.",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string", "description": "Chemin, ex. src/中.py"}},
                "required": ["path"],
            },
            "strict": True,
        },
    },
    {"type": "function", "function": {"name": "list_dir", "parameters": {"type": "object"}}},
    {"type": "function", "function": {"name": "noop", "description": None}},
]


def call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any, *calls: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = list(calls)
    return message


def system(content: Any, role: str = "system") -> dict[str, Any]:
    return {"role": role, "content": content}


def tool(call_id: str, content: Any) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def text_parts(*texts: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": text} for text in texts]


CONVERSATIONS: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]] | None]] = {
    "one user message": ([user(PROSE)], None),
    "system then user": ([system(CODE), user(JSON_TEXT)], None),
    "several turns": (
        [system(PROSE), user(CODE), assistant(CJK), user(EMOJI), assistant(JSON_TEXT), user("ok")],
        None,
    ),
    "back-to-back users and assistants": (
        [user("one"), user(""), user("two"), assistant("a"), assistant("b"), user(PROSE)],
        None,
    ),
    "system mid-way and developer role": (
        [system("1"), user("hi"), assistant("yo"), user("x"), system(CJK, "developer"), user("y")],
        None,
    ),
    "content as text parts": (
        [system(text_parts("rule 1", "rule 2")), user(text_parts(CODE, "", PROSE)), user("more")],
        None,
    ),
    "assistant trailing spaces": ([user("q"), assistant("answer   \n  "), user("q2")], None),
    "tools, calls and results": (
        [
            system("Use tools."),
            user("Read two files."),
            assistant(
                "Reading both.  ",
                call("call00001", "read_file", '{"path":  "src/中文.py"}'),
                call("call00002", "list_dir", ""),
            ),
            tool("call00002", "a.py\nb.py"),
            tool("call00001", text_parts(CODE, JSON_TEXT)),
            assistant(None, call("call00003", "noop", {"ünïcode": ["✓", 1.5, None]})),
            tool("call00003", "not json {"),
            assistant("Done."),
            user("Thanks"),
        ],
        TOOLS,
    ),
    "tool call with non-JSON arguments": (
        [user("x"), assistant(None, call("call00004", "noop", "plain")), tool("call00004", "")],
        TOOLS,
    ),
    "tools but only a system message": ([system("alone")], TOOLS),
    "empty tool list": ([user("x")], []),
    "mixed scripts and odd spaces": (
        [system(ODD_SPACE), user(CJK + EMOJI + LONG_SPACE), assistant(SURROGATE), user(ODD_SPACE)],
        None,
    ),
    "whitespace runs over 100,000 characters": ([system(HUGE_RUN), user("x" + HUGE_RUN)], None),
}


@pytest.fixture(scope="module")
def reference(devstral_reference: MistralTokenizer) -> MistralTokenizer:
    """mistral-common's tokenizer: tekken_240911's vocabulary with template version v13."""
    return devstral_reference


def reference_text_count(reference: MistralTokenizer, text: str) -> int:
    return len(reference.instruct_tokenizer.tokenizer.encode(text, bos=False, eos=False))


def reference_chat_count(
    reference: MistralTokenizer,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
    **options: Any,
) -> int:
    request = ChatCompletionRequest.from_openai(messages, tools, **options)
    return len(reference.encode_chat_completion(request).tokens)


def test_data_file_is_the_pinned_one() -> None:
    assert hashlib.sha256(DATA_FILE.read_bytes()).hexdigest() == DATA_SHA256


def test_data_file_holds_mistral_commons_vocabulary_and_pattern() -> None:
    source = json.loads(SOURCE_JSON.read_text(encoding="utf-8"))
    encoding, pattern = tekken._tekken()
    assert pattern == source["config"]["pattern"]
    assert encoding.n_vocab == 130_072 == (
        source["config"]["default_vocab_size"] - source["config"]["default_num_special_tokens"]
    )
    for entry in source["vocab"][: encoding.n_vocab]:
        token = base64.b64decode(entry["token_bytes"])
        assert encoding.decode_single_token_bytes(entry["rank"]) == token


@pytest.mark.parametrize("text", SAMPLES, ids=range(len(SAMPLES)))
def test_count_text_matches_mistral_common(reference: MistralTokenizer, text: str) -> None:
    assert count_text(text) == reference_text_count(reference, text)


TRICKY = st.sampled_from(list("aZé中😀1٣.,!/'-_ \t\n\r\x0b\u2028\u2029\u3000\xa0\x1c\u0301\ufeff"))


@settings(max_examples=300, deadline=None)
@given(st.text(TRICKY | st.characters(), max_size=80))
def test_count_text_matches_mistral_common_on_any_text(reference: MistralTokenizer, text: str):
    assert count_text(text) == reference_text_count(reference, text)


@settings(max_examples=300, deadline=None)
@given(st.text(TRICKY, max_size=120))
def test_long_run_path_matches_mistral_common(reference: MistralTokenizer, text: str) -> None:
    # With the threshold at 4, most of these texts take the long-run path: the cuts it
    # makes and its piece-by-piece encoding must not change any count.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tekken, "_LONG_RUN", 4)
        assert count_text(text) == reference_text_count(reference, text)


@settings(max_examples=100, deadline=None)
@given(st.text(TRICKY, max_size=120), st.integers(2, 9))
def test_long_run_filter_never_misses_a_run(text: str, threshold: int) -> None:
    # The cheap filter may let text through wrongly, never turn a run away: a run it
    # missed would reach tiktoken's regex whole.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tekken, "_LONG_RUN", threshold)
        if re.search(tekken._long_run_pattern(), text):
            assert tekken._may_hold_long_run(text)


CUTTABLE = st.sampled_from(list("aZé中1٣.,!/'-_ \t\n\r\u2028\u3000\xa0\u0301😀\ud800+"))


@settings(max_examples=100, deadline=None)
@given(st.text(CUTTABLE | st.characters(), max_size=120), st.integers(1, 12))
def test_slices_put_back_together_are_the_text(text: str, size: int) -> None:
    assert "".join(slices(text, size)) == text


@settings(max_examples=400, deadline=None)
@given(st.text(CUTTABLE | st.characters(), max_size=160), st.integers(1, 12))
def test_counting_in_slices_matches_mistral_common(
    reference: MistralTokenizer, text: str, size: int
) -> None:
    # Slices of a few characters put a cut at nearly every safe point there is.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tekken, "_SLICE", size)
        assert count_text(text) == reference_text_count(reference, text)


def test_a_large_text_counts_the_same_in_slices_as_whole(reference: MistralTokenizer) -> None:
    corpus = "".join(s for s in SAMPLES if s is not HUGE_RUN) * 200  # 1.6 MB: 6 slices
    assert len(list(slices(corpus))) > 4
    assert count_text(corpus) == reference_text_count(reference, corpus)


@settings(max_examples=200, deadline=None)
@given(st.text(CUTTABLE, max_size=200), st.integers(0, 60), st.integers(1, 8))
def test_a_limit_stops_past_it_and_never_overcounts(text: str, limit: int, size: int) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tekken, "_SLICE", size)
        whole = count_text(text)
        counted, complete = count_text_upto(text, limit)
    if complete:
        assert counted == whole
    else:
        assert limit < counted <= whole


def test_a_prompt_counted_to_a_limit_says_it_stopped() -> None:
    messages = [system(PROSE), user(PROSE * 20_000), user("more"), assistant("x")]
    whole = count_prompt(DEVSTRAL, messages)
    stopped = count_prompt(DEVSTRAL, messages, limit=1_000)
    assert whole.complete and not stopped.complete and stopped.exact
    assert 1_000 < stopped.tokens < whole.tokens
    assert count_prompt(DEVSTRAL, messages, limit=whole.tokens) == whole


def test_all_tekken_vocabularies_share_orcli_s_ranks() -> None:
    # Why one data file serves every Tekken model mistral-common ships.
    encoding, _ = tekken._tekken()
    for name in ("tekken_240718.json", "tekken_240911.json"):
        vocab = json.loads((SOURCE_JSON.parent / name).read_text(encoding="utf-8"))["vocab"]
        for entry in vocab[: encoding.n_vocab]:
            assert encoding.decode_single_token_bytes(entry["rank"]) == base64.b64decode(
                entry["token_bytes"])


def test_a_million_whitespace_characters_do_not_crash(reference: MistralTokenizer) -> None:
    # The largest run mistral-common can still count, and the same structure beyond it.
    assert count_text(" " * 960_000) == reference_text_count(reference, " " * 960_000) == 15_000
    for run in (" " * 1_200_000, "\t" * 1_000_000, "\u2028" * 1_000_000, " \n" * 700_000):
        assert 0 < count_text("word" + run + "word") <= len(run) * 2 + 2
    # A million spaces are 15,625 tokens, inside the template's three.
    counted = count_prompt(DEVSTRAL, [user(" " * 1_000_000)])
    assert counted == TokenCount(1 + 2 + 15_625, exact=True)


@pytest.mark.parametrize("name", list(CONVERSATIONS))
def test_chat_template_matches_mistral_common(reference: MistralTokenizer, name: str) -> None:
    messages, tools = CONVERSATIONS[name]
    expected = reference_chat_count(reference, messages, tools)
    assert count_prompt(DEVSTRAL, messages, tools) == TokenCount(expected, exact=True)


def test_prefix_assistant_message_has_no_end_token(reference: MistralTokenizer) -> None:
    messages = [user("Write a haiku"), assistant("Autumn  ")]
    expected = reference_chat_count(reference, messages, None, continue_final_message=True)
    prefixed = [messages[0], {**messages[1], "prefix": True}]
    assert count_prompt(DEVSTRAL, prefixed) == TokenCount(expected, exact=True)


def test_template_rule_on_a_small_conversation() -> None:
    # <s> [SYSTEM_PROMPT] Be [/SYSTEM_PROMPT] [INST] hi [/INST] yo </s> [INST] ok [/INST]
    messages = [system("Be"), user("hi"), assistant("yo"), user("ok")]
    assert count_prompt(DEVSTRAL, messages).tokens == 1 + (2 + 1) + (2 + 1) + (1 + 1) + (2 + 1)


def test_image_part_makes_the_count_an_estimate() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    with_image = count_prompt(DEVSTRAL, [user([*text_parts("What is this?"), image])])
    text_only = count_prompt(DEVSTRAL, [user(text_parts("What is this?"))])
    assert with_image == TokenCount(text_only.tokens, exact=False)
    assert text_only.exact


def test_unknown_role_makes_the_count_an_estimate() -> None:
    assert not count_prompt(DEVSTRAL, [{"role": "narrator", "content": "x"}, user("y")]).exact


def test_other_models_get_the_same_count_labelled_an_estimate() -> None:
    messages, tools = CONVERSATIONS["tools, calls and results"]
    exact = count_prompt(DEVSTRAL, messages, tools)
    for model in ("openai/gpt-4o", "anthropic/claude-sonnet-4", "mistralai/mistral-large"):
        assert count_prompt(model, messages, tools) == TokenCount(exact.tokens, exact=False)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("mistralai/devstral-2512", True),
        ("mistralai/devstral-2512:free", True),
        ("mistralai/devstral-2512:online", False),  # web results added to the prompt
        ("mistralai/devstral-small", False),
        ("mistralai/mistral-nemo", True),
        ("mistralai/mistral-large-2411", False),  # SentencePiece: an estimate
        ("openai/gpt-4o", False),
        ("", False),
    ],
)
def test_uses_tekken(model: str, expected: bool) -> None:
    assert uses_tekken(model) is expected


def test_importing_reads_no_data_and_loads_no_tiktoken() -> None:
    script = (
        "import sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda event, args: event == 'open' and opened.append(str(args[0])))\n"
        "import orcli.models.tokens\n"
        "assert 'tiktoken' not in sys.modules, 'tiktoken imported'\n"
        "assert 'regex' not in sys.modules, 'regex imported'\n"
        "assert not [p for p in opened if p.endswith('.bin')], opened\n"
        "assert orcli.models.tekken._tekken.cache_info().currsize == 0\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
