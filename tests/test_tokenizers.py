"""The exact-count table: each OpenRouter id counts as mistral-common's tokenizer for that model."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from mistral_common.protocol.instruct.request import ChatCompletionRequest
from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

from orcli.models.tokenizers import TEKKEN_TEMPLATES, template_for
from orcli.models.tokens import TokenCount, count_prompt

# The name mistral-common's own model table (MODEL_NAME_TO_TOKENIZER_CLS) gives each
# model, which picks its tokenizer file and version; None: conftest.py's devstral_reference.
MISTRAL_COMMON_NAMES: dict[str, str | None] = {
    "mistralai/mistral-nemo": "open-mistral-nemo-2407",
    "mistralai/ministral-8b": "ministral-8b-2410",
    "mistralai/mistral-small": "mistral-small-2409",
    "mistralai/pixtral-12b": "pixtral-12b-2409",
    "mistralai/devstral-2512": None,  # tekken_240911 with template v13
}

PROSE = "The quick brown fox: naïve café, Straße; l'été «déjà vu»... It's 3.14 o'clock!"
CODE = 'def greet(name: str) -> str:\n    """Hi."""\n\treturn f"Hello, {name}!"  # note   \n'
CJK = "中文分词测试。日本語のテキスト、カタカナ。한국어 문장입니다."


def msg(role: str, content: Any) -> dict[str, Any]:
    return {"role": role, "content": content}


PLAIN = {
    "one user message": [msg("user", PROSE)],
    "system then user": [msg("system", CODE), msg("user", PROSE)],
    "several turns and two systems": [
        msg("system", "Be brief."), msg("user", CODE), msg("assistant", CJK + "  "),
        msg("user", "again " * 40), msg("system", CJK), msg("user", "x"),
        msg("assistant", PROSE), msg("user", "ok"),
    ],
    "back-to-back users and assistants": [
        msg("user", "one"), msg("user", "two"), msg("assistant", "a"), msg("assistant", "b"),
        msg("user", PROSE),
    ],
    "developer role and text parts": [
        msg("developer", [{"type": "text", "text": "rule 1"}, {"type": "text", "text": "rule 2"}]),
        msg("user", [{"type": "text", "text": CODE}, {"type": "text", "text": PROSE}]),
    ],
}

TOOLS = [
    {"type": "function", "function": {"name": "noop", "parameters": {"type": "object"}}},
    {"type": "function", "function": {
        "name": "read_file", "description": "Read a file — UTF-8 only.", "strict": True,
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}},
]


def call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def tool(call_id: str, content: Any) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


WITH_TOOLS = {
    "tools and one question": [msg("system", "Use tools."), msg("user", "Read a.py")],
    "calls, results and a follow-up": [
        msg("system", "Use tools."), msg("user", "Read two files."),
        {**msg("assistant", None), "tool_calls": [
            call("call00001", "read_file", '{"path":  "src/中文.py"}'),
            call("call00002", "noop", "")]},
        tool("call00002", "a.py\nb.py"),
        tool("call00001", [{"type": "text", "text": '{"lines": 2,'},
                           {"type": "text", "text": ' "ok": true}'}]),
        msg("assistant", "Done.  "), msg("user", "Thanks"), msg("user", "And now?"),
    ],
    "a call with arguments that are not JSON": [
        msg("user", "x"),
        {**msg("assistant", None), "tool_calls": [call("call00003", "noop", "plain")]},
        tool("call00003", "not json {"), msg("user", "y"),
    ],
}


@pytest.fixture(scope="module")
def references(devstral_reference: MistralTokenizer) -> dict[str, MistralTokenizer]:
    """mistral-common's own tokenizer for each model, each file loaded once.

    Several names map to the same file and mode (mistral-common builds nemo,
    ministral-8b and mistral-small all from tekken_240718.json), so loads are
    shared by their arguments: each model still gets exactly what `from_model` builds.
    """
    loaded: dict[tuple[object, ...], MistralTokenizer] = {}
    real_from_file = MistralTokenizer.from_file.__func__  # type: ignore[attr-defined]

    def from_file_once(cls: type[MistralTokenizer], *args: object, **kwargs: object
                       ) -> MistralTokenizer:
        key = (cls, *args, *sorted(kwargs.items()))
        if key not in loaded:
            loaded[key] = real_from_file(cls, *args, **kwargs)
        return loaded[key]

    found = {}
    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as patch:
        warnings.simplefilter("ignore", FutureWarning)  # from_model is deprecated, still there
        patch.setattr(MistralTokenizer, "from_file", classmethod(from_file_once))
        for model, name in MISTRAL_COMMON_NAMES.items():
            found[model] = devstral_reference if name is None else MistralTokenizer.from_model(name)
    return found


def reference_count(tokenizer: MistralTokenizer, messages: list[dict[str, Any]]) -> int:
    request = ChatCompletionRequest.from_openai(messages)
    return len(tokenizer.encode_chat_completion(request).tokens)


def test_every_exact_model_has_a_reference() -> None:
    assert set(TEKKEN_TEMPLATES) == set(MISTRAL_COMMON_NAMES)


def test_table_versions_are_mistral_commons(references: dict[str, MistralTokenizer]) -> None:
    for model, tokenizer in references.items():
        assert template_for(model) == tokenizer.instruct_tokenizer.tokenizer.version.value


@pytest.mark.parametrize("model", sorted(MISTRAL_COMMON_NAMES))
@pytest.mark.parametrize("name", list(PLAIN))
def test_count_matches_mistral_common_for_each_model(
    references: dict[str, MistralTokenizer], model: str, name: str
) -> None:
    messages = PLAIN[name]
    expected = reference_count(references[model], messages)
    assert count_prompt(model, messages) == TokenCount(expected, exact=True)


@pytest.mark.parametrize("model", sorted(MISTRAL_COMMON_NAMES))
@pytest.mark.parametrize("name", list(WITH_TOOLS))
def test_tools_count_as_mistral_common_for_each_model(
    references: dict[str, MistralTokenizer], model: str, name: str
) -> None:
    messages = WITH_TOOLS[name]
    request = ChatCompletionRequest.from_openai(messages, TOOLS)
    expected = len(references[model].encode_chat_completion(request).tokens)
    assert count_prompt(model, messages, TOOLS) == TokenCount(expected, exact=True)


def test_what_v3_refuses_is_an_estimate() -> None:
    both = {**msg("assistant", "Let me look."), "tool_calls": [call("call00001", "noop", "{}")]}
    no_id = {"role": "tool", "content": "ok"}
    for messages in ([msg("user", "x"), both, tool("call00001", "ok"), msg("user", "y")],
                     [msg("user", "x"), no_id, msg("user", "y")]):
        assert not count_prompt("mistralai/mistral-nemo", messages, TOOLS).exact


def test_v3_without_a_user_message_is_an_estimate() -> None:
    assert not count_prompt("mistralai/mistral-nemo", [msg("system", "alone")]).exact
