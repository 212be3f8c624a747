"""Tests for orcli.http.sse and chunks: SSE framing, OpenRouter chunk shapes, and failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from itertools import chain
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orcli.errors import ExitStatus, UpstreamError
from orcli.http.chunks import StreamError, iter_events
from orcli.http.sse import iter_data
from orcli.response.events import Content, Done, Reasoning, ToolCall, Usage

GEN_ID = "gen-1764115200-AbCdEfGhIjKlMnOpQrSt"
MODEL = "mistralai/devstral-2512"
KEEPALIVE = b": OPENROUTER PROCESSING\n\n"
USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 5,
    "total_tokens": 17,
    "cost": 0.0000152,
    "is_byok": False,
    "prompt_tokens_details": {"cached_tokens": 0},
    "cost_details": {"upstream_inference_cost": None},
    "completion_tokens_details": {"reasoning_tokens": 0},
}


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict:
    """A chat.completion.chunk shaped like the ones OpenRouter sends."""
    body: dict[str, Any] = {
        "id": GEN_ID,
        "provider": "Mistral",
        "model": MODEL,
        "object": "chat.completion.chunk",
        "created": 1764115200,
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", **(delta or {})},
                "finish_reason": finish,
                "native_finish_reason": finish,
                "logprobs": None,
            }
        ],
    }
    body.update(extra)
    return body


def usage_chunk(shape: str = "empty_choices", **usage: Any) -> dict:
    """The final usage chunk, in the documented shape or the one real captures show."""
    body = chunk({"content": ""}, "stop", usage={**USAGE, **usage})
    if shape == "empty_choices":
        body["choices"] = []
    return body


def frame(payload: dict | str, eol: bytes = b"\n") -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return b"data: " + text.encode() + eol + eol


def stream(*payloads: dict | str, eol: bytes = b"\n", done: bool = True) -> bytes:
    """Frame payloads as SSE with keep-alive comments around them, then [DONE]."""
    parts = [KEEPALIVE.replace(b"\n", eol)]
    for payload in payloads:
        parts += [frame(payload, eol), KEEPALIVE.replace(b"\n", eol)]
    if done:
        parts.append(b"data: [DONE]" + eol + eol)
    return b"".join(parts)


def events(data: bytes | list[bytes]) -> list:
    return list(iter_events([data] if isinstance(data, bytes) else data))


def collect_until_error(data: bytes) -> tuple[list, Exception]:
    seen: list = []
    with pytest.raises(UpstreamError) as caught:
        for event in iter_events([data]):
            seen.append(event)
    return seen, caught.value


def texts(seen: list, kind: type) -> str:
    return "".join(event.text for event in seen if isinstance(event, kind))


# --- SSE framing ---------------------------------------------------------------

FRAMING_CASES = {
    "plain": (b'data: {"a": 1}\n\ndata: [DONE]\n\n', ['{"a": 1}']),
    "no space after colon": (b'data:{"a": 1}\n\ndata:[DONE]\n\n', ['{"a": 1}']),
    "only one space stripped": (b"data:  x\n\ndata: [DONE]\n\n", [" x"]),
    "crlf": (b"data: x\r\n\r\ndata: [DONE]\r\n\r\n", ["x"]),
    "comments": (b": OPENROUTER PROCESSING\n\ndata: x\n: hi\n\ndata: [DONE]\n\n", ["x"]),
    "other fields ignored": (
        b"event: message\nid: 7\nretry: 1000\ndata: x\n\ndata: [DONE]\n\n",
        ["x"],
    ),
    "multi-line data": (b"data: a\ndata: b\ndata:\n\ndata: [DONE]\n\n", ["a\nb\n"]),
    "blank lines without data": (b"\n\n\ndata: x\n\n\n\ndata: [DONE]\n\n", ["x"]),
    "done without blank line at eof": (b"data: x\n\ndata: [DONE]", ["x"]),
    "nothing read after done": (b"data: x\n\ndata: [DONE]\n\ndata: {not json\n\n", ["x"]),
    "field without colon": (b"data\n\ndata: x\ndata\n\ndata: [DONE]\n\n", ["x\n"]),
}


@pytest.mark.parametrize(("raw", "expected"), FRAMING_CASES.values(), ids=FRAMING_CASES.keys())
def test_iter_data_framing(raw: bytes, expected: list[str]) -> None:
    assert list(iter_data([raw])) == expected


def test_iter_data_stops_at_done_without_reading_further() -> None:
    def chunks():
        yield b"data: x\n\n"
        yield b"data: [DONE]\n"
        raise AssertionError("read past [DONE]")

    assert list(iter_data(chunks())) == ["x"]


def test_multi_line_data_joins_into_one_json_chunk() -> None:
    raw = b'data: {"choices": [{"delta":\ndata: {"content": "Hi"}}]}\n\ndata: [DONE]\n\n'
    assert events(raw) == [Content("Hi"), Done(None, None, None)]


def test_multibyte_character_split_across_chunks() -> None:
    raw = stream(chunk({"content": "é中😀"}))
    start = raw.index("😀".encode())
    pieces = [raw[: start + 1], raw[start + 1 : start + 3], raw[start + 3 :]]
    assert texts(events(pieces), Content) == "é中😀"


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\u0085"])
def test_raw_line_separators_inside_json_strings(char: str) -> None:
    # These split a str under str.splitlines(); the reader must split on CR and LF only.
    raw = stream(chunk({"content": f"a{char}b"}))
    assert char.encode() in raw
    assert events(raw)[0] == Content(f"a{char}b")


def test_crlf_stream_gives_same_events_as_lf() -> None:
    payloads = [chunk({"content": "Hi"}), chunk({"content": " there"}, "stop"), usage_chunk()]
    assert events(stream(*payloads, eol=b"\r\n")) == events(stream(*payloads))


def test_many_events_in_one_piece_and_a_line_across_many() -> None:
    raw = stream(*(chunk({"content": f"{i} "}) for i in range(50)), chunk({"content": "é" * 5000}))
    split = raw.index("é".encode()) + 1  # inside a character, then one byte at a time
    one_byte = [raw[i : i + 1] for i in range(split, split + 3000)]
    pieces = [raw[:split], *one_byte, raw[split + 3000 :]]
    expected = "".join(f"{i} " for i in range(50)) + "é" * 5000
    assert texts(events([raw]), Content) == texts(events(pieces), Content) == expected


def test_bytes_after_done_in_the_same_piece_are_never_decoded() -> None:
    assert events(stream(chunk({"content": "a"})) + b"data: \xff\n\n") == [
        Content("a"), Done(None, GEN_ID, MODEL, "Mistral")]


def test_events_before_a_bad_line_in_the_same_piece_still_come_out() -> None:
    seen, caught = collect_until_error(stream(chunk({"content": "a"}), done=False) + b"\xff\n")
    assert seen == [Content("a")]
    assert "not valid UTF-8" in caught.message



# --- edge cases of the SSE standard --------------------------------------------

EDGE_CASES = {
    "empty data is not dispatched": (b"data:\n\ndata: x\n\ndata: [DONE]\n\n", ["x"]),
    "empty data with a space": (b"data: \n\ndata:\ndata:\n\ndata: x\n\ndata: [DONE]\n\n",
                                ["x"]),
    "empty data line inside an event is kept": (b"data: a\ndata:\ndata: b\n\ndata: [DONE]\n\n",
                                                ["a\n\nb"]),
    "byte order mark at the start": (b"\xef\xbb\xbfdata: x\n\ndata: [DONE]\n\n", ["x"]),
    "byte order mark before a comment": (b"\xef\xbb\xbf: hi\n\ndata: x\n\ndata: [DONE]\n\n",
                                         ["x"]),
    "done with trailing spaces": (b"data: x\n\ndata: [DONE] \t\n\n", ["x"]),
    "done with trailing text is data": (b"data: [DONE]x\n\ndata: [DONE]\n\n", ["[DONE]x"]),
    "bare cr line endings": (b"data: x\r\rdata: y\r: c\r\rdata: [DONE]\r\r", ["x", "y"]),
    "mixed line endings": (b"data: x\r\n\rdata: y\n\r\ndata: [DONE]\n\n", ["x", "y"]),
}


@pytest.mark.parametrize(("raw", "expected"), EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_iter_data_edge_cases(raw: bytes, expected: list[str]) -> None:
    assert list(iter_data([raw])) == expected
    # The same, one byte at a time: a mark, CR or LF may end any piece.
    assert list(iter_data([raw[i : i + 1] for i in range(len(raw))])) == expected


def test_byte_order_mark_later_in_the_stream_is_not_skipped() -> None:
    raw = b"data: x\n\n\xef\xbb\xbfdata: y\n\ndata: [DONE]\n\n"
    assert list(iter_data([raw])) == ["x"]  # "\ufeffdata: y" is a field orcli ignores


def test_cr_at_the_end_of_a_piece_and_lf_at_the_start_of_the_next_is_one_line_end() -> None:
    # Were the LF a second line end, "a" and "b" would be two events, not one.
    assert list(iter_data([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\ndata: [DONE]\r\n"])) \
        == ["a\nb"]


def test_bare_cr_events_arrive_before_the_stream_ends() -> None:
    def chunks():
        yield b"data: " + json.dumps(chunk({"content": "Hi"})).encode() + b"\r\r"
        raise AssertionError("the first event waited for more bytes")

    assert next(iter_events(chunks())) == Content("Hi")


def test_bad_utf8_in_a_cr_stream_still_gives_the_events_before_it() -> None:
    raw = frame(chunk({"content": "a"}), eol=b"\r") + b"data: \xff\r\r"
    seen, caught = collect_until_error(raw)
    assert seen == [Content("a")]
    assert "not valid UTF-8" in caught.message


def test_empty_data_events_around_chunks_give_the_same_events() -> None:
    payloads = [chunk({"content": "Hi"}), chunk({}, "stop")]
    padded = b"data:\n\n" + stream(*payloads).replace(KEEPALIVE, b"data: \n\n")
    assert events(padded) == events(stream(*payloads))


# --- failures ------------------------------------------------------------------


CUT_CASES = {
    "empty input": b"",
    "only comments": KEEPALIVE * 3,
    "cut after a chunk": stream(chunk({"content": "Hi"}), done=False),
    "cut inside a line": stream(chunk({"content": "Hi"}), done=False) + b'data: {"id',
    "cut inside done": stream(chunk({"content": "Hi"}), done=False) + b"data: [DO",
}


@pytest.mark.parametrize("raw", CUT_CASES.values(), ids=CUT_CASES.keys())
def test_cut_stream_raises_upstream_error(raw: bytes) -> None:
    with pytest.raises(UpstreamError) as caught:
        list(iter_events([raw]))
    assert caught.value.status == ExitStatus.UPSTREAM
    assert "[DONE]" in caught.value.message or "not JSON" in caught.value.message


def test_cut_stream_yields_text_before_raising() -> None:
    seen, error = collect_until_error(stream(chunk({"content": "Hi"}), done=False))
    assert seen == [Content("Hi")]
    assert error.message.startswith("stream ended before [DONE]")


BAD_DATA_CASES = {
    "not json": (b"data: hello\n\n", "not JSON: hello"),
    "json array": (b"data: [1, 2]\n\n", "not an object: [1, 2]"),
    "json string": (b'data: "x"\n\n', "not an object"),
    "not utf-8": (b'data: {"a": "\xff"}\n\n', "not valid UTF-8"),
}


@pytest.mark.parametrize(("raw", "needle"), BAD_DATA_CASES.values(), ids=BAD_DATA_CASES.keys())
def test_bad_data_raises_upstream_error(raw: bytes, needle: str) -> None:
    with pytest.raises(UpstreamError, match="stream sent") as caught:
        list(iter_events([raw + b"data: [DONE]\n\n"]))
    assert needle in caught.value.message


def test_large_bad_payload_is_quoted_short() -> None:
    raw = b"data: <html>" + b"x" * 100_000 + b"</html>\n\ndata: [DONE]\n\n"
    with pytest.raises(UpstreamError) as caught:
        list(iter_events([raw]))
    assert len(caught.value.message) < 300
    assert "\n" not in caught.value.message


# --- content, reasoning, finish --------------------------------------------------


def test_plain_answer_events() -> None:
    raw = stream(
        chunk({"content": ""}),
        chunk({"content": "Hi"}),
        chunk({"content": None}),
        chunk({"content": " there"}),
        chunk({"content": ""}, "stop"),
    )
    assert events(raw) == [Content("Hi"), Content(" there"), Done("stop", GEN_ID, MODEL, "Mistral")]


def test_finish_reason_is_the_last_non_null_one() -> None:
    raw = stream(chunk({"content": "a"}, "length"), chunk({}, None), usage_chunk("empty_choices"))
    assert events(raw)[-1] == Done("length", GEN_ID, MODEL, "Mistral")


def test_done_without_any_chunk() -> None:
    assert events(b"data: [DONE]\n\n") == [Done(None, None, None)]


DETAIL_TEXT = {"type": "reasoning.text", "text": "Let me think.", "format": "unknown", "index": 0}
DETAIL_SUMMARY = {"type": "reasoning.summary", "summary": "Summed up.", "index": 1}
DETAIL_SECRET = {"type": "reasoning.encrypted", "data": "gAAAAB...", "index": 2}

REASONING_CASES = {
    "reasoning field": ({"reasoning": "Let me think."}, "Let me think."),
    "details text": ({"reasoning_details": [DETAIL_TEXT]}, "Let me think."),
    "details summary": ({"reasoning_details": [DETAIL_SUMMARY]}, "Summed up."),
    "details mixed": (
        {"reasoning_details": [DETAIL_TEXT, DETAIL_SECRET, DETAIL_SUMMARY]},
        "Let me think.Summed up.",
    ),
    "encrypted only": ({"reasoning_details": [DETAIL_SECRET]}, ""),
    "both: reasoning wins": (
        {"reasoning": "Let me think.", "reasoning_details": [DETAIL_TEXT]},
        "Let me think.",
    ),
    "empty reasoning falls back": (
        {"reasoning": "", "reasoning_details": [DETAIL_TEXT]},
        "Let me think.",
    ),
    "null reasoning falls back": (
        {"reasoning": None, "reasoning_details": [DETAIL_SUMMARY]},
        "Summed up.",
    ),
    "junk details ignored": ({"reasoning_details": ["x", {"type": "reasoning.text"}]}, ""),
}


@pytest.mark.parametrize(
    ("delta", "expected"), REASONING_CASES.values(), ids=REASONING_CASES.keys()
)
def test_reasoning(delta: dict, expected: str) -> None:
    seen = events(stream(chunk({**delta, "content": "ok"})))
    wanted = [Reasoning(expected)] if expected else []
    assert seen[:-1] == [*wanted, Content("ok")]
    assert seen[-1].finish_reason is None


# Most chunks carry only text and take a shortcut; these carry text and more.
TEXT_AND_MORE = {
    "nulls and empties beside the text": (
        chunk({"content": "a", "reasoning": None, "reasoning_details": [], "tool_calls": None},
              usage=None, error=None),
        [Content("a"), Done(None, GEN_ID, MODEL, "Mistral")],
    ),
    "reasoning": (chunk({"content": "a", "reasoning": "r"}),
                  [Reasoning("r"), Content("a"), Done(None, GEN_ID, MODEL, "Mistral")]),
    "reasoning details": (chunk({"content": "a", "reasoning_details": [DETAIL_TEXT]}),
                          [Reasoning("Let me think."), Content("a"),
                           Done(None, GEN_ID, MODEL, "Mistral", (DETAIL_TEXT,))]),
    "finish reason": (chunk({"content": "a"}, "length"),
                      [Content("a"), Done("length", GEN_ID, MODEL, "Mistral")]),
    "empty usage": (chunk({"content": "a"}, usage={}),
                    [Content("a"), Usage(0, 0, None, {}), Done(None, GEN_ID, MODEL, "Mistral")]),
    "tool call": (
        chunk({"content": "a", "tool_calls": [{"index": 0, "id": "c", "function": {
            "name": "f", "arguments": "{}"}}]}),
        [Content("a"), ToolCall("c", "f", {}, "{}"), Done(None, GEN_ID, MODEL, "Mistral")],
    ),
    "two choices: the first counts": (
        chunk({"content": "a"}) | {"choices": [{"delta": {"content": "a"}},
                                               {"delta": {"content": "b"}}]},
        [Content("a"), Done(None, GEN_ID, MODEL, "Mistral")],
    ),
    "delta that is not an object": (chunk() | {"choices": [{"delta": "a"}]},
                                    [Done(None, GEN_ID, MODEL, "Mistral")]),
    "content that is not a string": (chunk({"content": ["a"]}),
                                     [Done(None, GEN_ID, MODEL, "Mistral")]),
}


@pytest.mark.parametrize(("body", "expected"), TEXT_AND_MORE.values(), ids=TEXT_AND_MORE.keys())
def test_text_and_more_in_one_chunk(body: dict, expected: list) -> None:
    assert events(stream(body)) == expected


def test_id_and_model_come_from_text_chunks_too() -> None:
    last = {"choices": [{"delta": {}, "finish_reason": "stop"}]}
    done = events(stream(chunk({"content": "a"}), last))[-1]
    assert done == Done("stop", GEN_ID, MODEL, "Mistral")


@pytest.mark.parametrize("payload", [' {"choices": []}', '{"choices": []} ', '\t{"choices": []}\t'])
def test_whitespace_around_the_json(payload: str) -> None:
    assert events(stream(payload)) == [Done(None, None, None)]


def test_json_followed_by_more_is_not_json() -> None:
    with pytest.raises(UpstreamError, match="not JSON"):
        events(stream('{"choices": []} {}'))


# --- usage ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["empty_choices", "repeat_finish"])
def test_usage_chunk_shapes(shape: str) -> None:
    raw = stream(chunk({"content": "Hi"}), chunk({"content": ""}, "stop"), usage_chunk(shape))
    seen = events(raw)
    assert seen[0] == Content("Hi")
    usage = seen[1]
    assert isinstance(usage, Usage)
    assert (usage.prompt_tokens, usage.completion_tokens) == (12, 5)
    assert usage.cost == Decimal("0.0000152")
    assert str(usage.cost) in ("0.0000152", "1.52E-5")
    assert usage.raw["prompt_tokens_details"] == {"cached_tokens": 0}
    assert seen[2:] == [Done("stop", GEN_ID, MODEL, "Mistral")]


COST_CASES = {
    "float": (0.0000152, Decimal("0.0000152")),
    "tiny float": (1e-7, Decimal("1E-7")),
    "int": (0, Decimal(0)),
    "string": ("0.00042", Decimal("0.00042")),
    "null": (None, None),
    "junk string": ("n/a", None),
    "bool": (True, None),
    "object": ({"usd": 1}, None),
}


@pytest.mark.parametrize(("cost", "expected"), COST_CASES.values(), ids=COST_CASES.keys())
def test_usage_cost_parsing(cost: object, expected: Decimal | None) -> None:
    seen = events(stream(usage_chunk(cost=cost)))
    assert seen[0].cost == expected


def test_usage_without_cost_or_counts() -> None:
    body = chunk({}, "stop", usage={"total_tokens": 3})
    assert events(stream(body))[0] == Usage(0, 0, None, {"total_tokens": 3})


def test_null_usage_on_every_chunk_is_ignored() -> None:
    raw = stream(chunk({"content": "Hi"}, usage=None), chunk({}, "stop", usage=None))
    assert events(raw) == [Content("Hi"), Done("stop", GEN_ID, MODEL, "Mistral")]


# --- tool calls ----------------------------------------------------------------


def call_fragment(
    index: int, call_id: str | None = None, name: str | None = None, arguments: str = ""
) -> dict:
    fragment: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id:
        fragment.update(id=call_id, type="function")
        fragment["function"]["name"] = name
    return fragment


def tool_stream(fragment_lists: list[list[dict]]) -> bytes:
    bodies = [chunk({"content": None, "tool_calls": frags}) for frags in fragment_lists]
    return stream(*bodies, chunk({}, "tool_calls"), usage_chunk())


def test_tool_call_split_across_many_fragments() -> None:
    arguments = '{"city": "Zürich", "days": [1, 2, 3], "unit": "°C"}'
    fragments = [[call_fragment(0, "call_a", "get_weather")]]
    fragments += [[call_fragment(0, arguments=arguments[i : i + 3])] for i in range(0, 60, 3)]
    seen = events(tool_stream(fragments))
    assert seen[0] == ToolCall("call_a", "get_weather", json.loads(arguments), arguments)
    assert isinstance(seen[1], Usage)
    assert seen[2] == Done("tool_calls", GEN_ID, MODEL, "Mistral")


def test_interleaved_tool_calls_come_out_in_index_order() -> None:
    fragments = [
        [call_fragment(1, "call_b", "second")],
        [call_fragment(0, "call_a", "first", '{"x"')],
        [call_fragment(1, arguments='{"y": 2}'), call_fragment(0, arguments=": 1}")],
    ]
    assert events(tool_stream(fragments))[:2] == [
        ToolCall("call_a", "first", {"x": 1}, '{"x": 1}'),
        ToolCall("call_b", "second", {"y": 2}, '{"y": 2}'),
    ]


ARGUMENT_CASES = {
    "empty": ("", {}),
    "blank": ("  ", {}),
    "object": ('{"a": [1, null]}', {"a": [1, None]}),
    "not json": ('{"a": 1', '{"a": 1'),
    "scalar json": ("42", 42),
}


@pytest.mark.parametrize(
    ("arguments", "expected"), ARGUMENT_CASES.values(), ids=ARGUMENT_CASES.keys()
)
def test_tool_call_arguments(arguments: str, expected: object) -> None:
    seen = events(tool_stream([[call_fragment(0, "call_a", "f", arguments)]]))
    assert seen[0] == ToolCall("call_a", "f", expected, arguments)


def test_tool_call_without_index_and_repeated_index_with_new_id() -> None:
    # Some providers send each whole call in its own chunk, index missing or always 0.
    first = {"id": "call_a", "function": {"name": "f", "arguments": "{}"}}
    second = {"index": 0, "id": "call_b", "function": {"name": "g", "arguments": '{"n": 1}'}}
    seen = events(tool_stream([[first], [second]]))
    assert seen[:2] == [ToolCall("call_a", "f", {}, "{}"),
                        ToolCall("call_b", "g", {"n": 1}, '{"n": 1}')]


def test_tool_call_name_repeated_in_every_fragment_is_kept_once() -> None:
    fragments = [
        [call_fragment(0, "call_a", "f", '{"a"')],
        [call_fragment(0, "call_a", "f", ":1}")],
    ]
    assert events(tool_stream(fragments))[0] == ToolCall("call_a", "f", {"a": 1}, '{"a":1}')


def test_tool_calls_are_not_emitted_when_the_stream_is_cut() -> None:
    body = chunk({"tool_calls": [call_fragment(0, "call_a", "f", "{}")]})
    seen, _ = collect_until_error(stream(body, done=False))
    assert seen == []


# --- errors inside the stream ----------------------------------------------------

METADATA = {"raw": "upstream connect error", "provider_name": "Mistral"}
ERROR_CASES = {
    "int code, error choice": (
        {"code": 502, "message": "Provider returned error", "metadata": METADATA},
        "error_choice",
    ),
    "numeric string code": (
        {"code": "502", "message": "Provider returned error", "metadata": METADATA},
        "empty_choices",
    ),
    "word code": ({"code": "server_error", "message": "Provider disconnected"}, "no_choices"),
    "null code": ({"code": None, "message": "Internal error"}, "error_choice"),
    "no code": (
        {"message": "Internal error", "metadata": {"raw": {"detail": "x"}}},
        "empty_choices",
    ),
}


def error_chunk(error: dict, shape: str) -> dict:
    body = chunk({"content": ""}, "error", error=error)
    if shape == "empty_choices":
        body["choices"] = []
    elif shape == "no_choices":
        del body["choices"]
    return body


@pytest.mark.parametrize(("error", "shape"), ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_mid_stream_error_raises_after_earlier_events(error: dict, shape: str) -> None:
    raw = stream(chunk({"reasoning": "hmm"}), chunk({"content": "Hel"}), error_chunk(error, shape))
    seen, caught = collect_until_error(raw)
    assert seen == [Reasoning("hmm"), Content("Hel")]
    assert isinstance(caught, StreamError)
    assert caught.status == ExitStatus.UPSTREAM
    assert error["message"] in caught.message
    assert caught.code == error.get("code")
    assert caught.error_message == error["message"]


def test_mid_stream_error_message_names_code_raw_and_provider() -> None:
    error = {"code": 502, "message": "Provider returned error", "metadata": METADATA}
    assert StreamError(error).message == (
        "error inside the stream (code 502): Provider returned error "
        "(provider Mistral; raw: upstream connect error)"
    )


FORMAT_CASES = {
    "message only": ({"message": "boom"}, "error inside the stream: boom"),
    "no message": ({"code": None}, "error inside the stream: no message"),
    "word code": ({"code": "server_error", "message": "x"},
                  "error inside the stream (code server_error): x"),
    "raw object": ({"message": "x", "metadata": {"raw": {"a": 1}}},
                   'error inside the stream: x (raw: {"a": 1})'),
    "multi-line": ({"message": "a\nb", "metadata": {"raw": "c\r\nd"}},
                   "error inside the stream: a b (raw: c d)"),
}


@pytest.mark.parametrize(("error", "expected"), FORMAT_CASES.values(), ids=FORMAT_CASES.keys())
def test_stream_error_message(error: dict, expected: str) -> None:
    assert StreamError(error).message == expected


def test_huge_raw_metadata_is_capped() -> None:
    error = {"code": 502, "message": "bad", "metadata": {"raw": "<html>" + "x" * 50_000}}
    assert len(StreamError(error).message) < 400


def test_error_that_is_not_an_object() -> None:
    raw = stream(chunk({"content": "a"}, error="overloaded"))
    seen, caught = collect_until_error(raw)
    assert seen == [Content("a")]
    assert caught.message == "error inside the stream: overloaded"


def test_error_as_last_event_without_blank_line_or_done() -> None:
    raw = stream(done=False) + b'data: {"error": {"code": 500, "message": "Internal"}}'
    _, caught = collect_until_error(raw)
    assert isinstance(caught, StreamError)
    assert caught.message == "error inside the stream (code 500): Internal"


def test_injected_error_factory() -> None:
    class CustomError(Exception):
        pass

    received: list[dict] = []

    def factory(error: dict) -> Exception:
        received.append(error)
        return CustomError(error["message"])

    raw = stream(chunk({"content": "a"}), error_chunk({"code": 1, "message": "m"}, "no_choices"))
    with pytest.raises(CustomError, match="m"):
        list(iter_events([raw], on_error=factory))
    assert received == [{"code": 1, "message": "m"}]


def test_null_error_field_is_not_an_error() -> None:
    raw = stream(chunk({"content": "a"}, "stop", error=None))
    assert events(raw) == [Content("a"), Done("stop", GEN_ID, MODEL, "Mistral")]


# --- any split gives the same events ---------------------------------------------

TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from('aé ñü中文字😀🎉\u2028\u2029\u0085\n\r\t"\\:'),
        st.characters(codec="utf-8"),
    ),
    max_size=12,
)


@st.composite
def whole_streams(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A valid stream as bytes, and the content pieces it carries."""
    pieces = draw(st.lists(TEXT, max_size=6))
    bodies: list[dict] = [chunk({"reasoning": piece}) for piece in draw(st.lists(TEXT, max_size=2))]
    bodies += [chunk({"content": piece}) for piece in pieces]
    if draw(st.booleans()):
        args = json.dumps({"q": draw(TEXT)}, ensure_ascii=False)
        bodies.append(chunk({"tool_calls": [call_fragment(0, "call_a", "f", args[:5])]}))
        bodies.append(chunk({"tool_calls": [call_fragment(0, arguments=args[5:])]}))
    bodies.append(chunk({"content": ""}, "stop"))
    bodies.append(usage_chunk(draw(st.sampled_from(["empty_choices", "repeat_finish"]))))
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    return stream(*bodies, eol=eol), pieces


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@settings(max_examples=300, deadline=None)
@given(whole_streams(), st.lists(st.integers(min_value=0), max_size=40))
def test_any_split_gives_the_same_events(sample: tuple[bytes, list[str]], cuts: list[int]) -> None:
    data, pieces = sample
    whole = events(data)
    assert events(split_at(data, cuts)) == whole
    assert texts(whole, Content) == "".join(pieces)
    assert isinstance(whole[-1], Done)
    assert isinstance(whole[-2], Usage)


@settings(max_examples=100, deadline=None)
@given(whole_streams())
def test_one_byte_chunks_give_the_same_events(sample: tuple[bytes, list[str]]) -> None:
    data, _ = sample
    assert events([data[i : i + 1] for i in range(len(data))]) == events(data)


@settings(max_examples=200, deadline=None)
@given(whole_streams(), st.integers(min_value=0), st.lists(st.integers(min_value=0), max_size=8))
def test_any_cut_before_the_finish_reason_raises(
    sample: tuple[bytes, list[str]], end: int, cuts: list[int]
) -> None:
    data, _ = sample
    finish = data.rindex(b"data:", 0, data.index(b'"finish_reason": "stop"'))
    cut = data[: end % finish]
    with pytest.raises(UpstreamError):
        events(split_at(cut, cuts))


# --- what other OpenAI-compatible servers send ----------------------------------

def test_reasoning_content_is_reasoning() -> None:
    seen = events(stream(chunk({"reasoning_content": "think"}), chunk({"content": "ok"})))
    assert texts(seen, Reasoning) == "think" and texts(seen, Content) == "ok"


def test_a_surrogate_pair_split_over_two_deltas_is_one_character() -> None:
    raw = stream('{"choices": [{"delta": {"content": "party \\ud83c"}}]}',
                 '{"choices": [{"delta": {"content": "\\udf89!"}}]}')
    assert texts(events(raw), Content) == "party \U0001f389!"


def test_an_error_event_is_an_error_even_when_done_follows() -> None:
    raw = b'event: error\ndata: {"message": "overloaded", "code": 502}\n\ndata: [DONE]\n\n'
    seen, error = collect_until_error(raw)
    assert isinstance(error, StreamError) and error.code == 502


@pytest.mark.parametrize("value", ["false", "null", "{}"])
def test_an_error_field_that_is_empty_is_no_error(value: str) -> None:
    raw = stream('{"choices": [{"delta": {"content": "ok"}}], "error": ' + value + '}')
    assert texts(events(raw), Content) == "ok"


def test_one_event_of_endless_data_lines_is_refused(monkeypatch) -> None:
    import orcli.http.sse as sse

    monkeypatch.setattr(sse, "MAX_LINE_BYTES", 1000)
    lines = (b"data: " + b"x" * 100 + b"\n" for _ in range(100))  # no blank line, ever
    with pytest.raises(UpstreamError, match="event larger than"):
        events(list(lines))


def test_comments_before_the_first_event_are_not_kept() -> None:
    import tracemalloc

    comments = (b": keep-alive " + b"x" * 65_000 + b"\n" for _ in range(800))  # 52 MB
    tracemalloc.start()
    try:
        seen = list(iter_events(chain(comments, [frame(chunk({"content": "ok"})),
                                                 b"data: [DONE]\n\n"])))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert texts(seen, Content) == "ok"
    assert peak < 5_000_000


def details_of(*deltas: list[dict]) -> list[dict]:
    """The reasoning_details a stream's Done carries, one delta list per chunk."""
    raw = stream(*[chunk({"reasoning_details": d}) for d in deltas], chunk({}, "stop"))
    return list(events(raw)[-1].reasoning_details)


ANTHROPIC = {"type": "reasoning.text", "format": "anthropic-claude-v1", "index": 0}


def test_streamed_text_pieces_and_their_signature_make_one_detail() -> None:
    assembled = details_of(
        [{**ANTHROPIC, "text": "Let me ", "signature": None}],
        [{**ANTHROPIC, "text": "think."}],
        [{**ANTHROPIC, "text": "", "signature": "EqQBCkYIBxgC"}],
    )
    assert assembled == [{**ANTHROPIC, "text": "Let me think.", "signature": "EqQBCkYIBxgC"}]


def test_a_new_kind_or_id_at_the_same_index_is_a_new_detail() -> None:
    secret = {"type": "reasoning.encrypted", "data": "c2lnbmVk", "index": 0,
              "format": "google-gemini-v1"}
    other_id = {**ANTHROPIC, "text": "b", "id": "rs_2"}
    assembled = details_of([{**ANTHROPIC, "text": "a", "id": "rs_1"}], [secret], [other_id])
    assert assembled == [{**ANTHROPIC, "text": "a", "id": "rs_1"}, secret, other_id]


def test_encrypted_blocks_without_an_index_stay_separate() -> None:
    first = {"type": "reasoning.encrypted", "data": "AAA"}
    second = {"type": "reasoning.encrypted", "data": "BBB"}
    summary = [{"type": "reasoning.summary", "summary": "Sum"},
               {"type": "reasoning.summary", "summary": "med up."}]
    assert details_of(summary, [first], [second]) == [
        {"type": "reasoning.summary", "summary": "Summed up."}, first, second]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    # Joined by hand: text() leaves out lone surrogates, which a server may send escaped.
    | st.lists(st.characters() | st.sampled_from("\ud800\udfff\x00")).map("".join),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=4),
    max_leaves=12,
)


@given(value=JSON_VALUES, ascii_only=st.booleans())
@settings(max_examples=300, deadline=None)
def test_a_chunk_is_read_exactly_as_json_reads_it(value: object, ascii_only: bool) -> None:
    # Big integers, lone surrogate escapes, 1e400 (Infinity) and raw control
    # characters all come through as Python's json module reads them.
    text = json.dumps(usage_chunk(extra=value), ensure_ascii=ascii_only)
    if not text.isascii() and any("\ud800" <= c <= "\udfff" for c in text):
        text = json.dumps(usage_chunk(extra=value))  # UTF-8 has no lone surrogates: escaped
    (usage,) = [e for e in events(stream(text)) if isinstance(e, Usage)]
    assert usage.raw["extra"] == json.loads(text)["usage"]["extra"]


ODD_VALUES = st.none() | st.booleans() | st.integers(-2, 2) | st.sampled_from(
    ["", "x", "stop", "\ud83d"]) | st.just([]) | st.just([{"index": 0}]) | st.just({})
MISSING = object()  # a field left out


@st.composite
def near_plain_chunks(draw: Any) -> dict:
    """A plain text chunk as OpenRouter sends it, with a few of its fields changed."""
    delta: dict[str, Any] = {"role": "assistant", "content": "x"}
    choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": None}
    chunk: dict[str, Any] = {"id": "gen-1", "model": "m", "provider": "p", "choices": [choice]}
    changes = [(delta, key) for key in ("content", "reasoning", "reasoning_details",
                                        "reasoning_content", "tool_calls")]
    changes += [(choice, "delta"), (choice, "finish_reason")]
    changes += [(chunk, key) for key in ("id", "model", "provider", "usage", "error", "detail",
                                         "choices")]
    for where, key in draw(st.lists(st.sampled_from(changes), min_size=1, max_size=3)):
        value = draw(ODD_VALUES | st.just(MISSING))
        if value is MISSING:
            where.pop(key, None)
        else:
            where[key] = value
    if draw(st.booleans()) and isinstance(chunk.get("choices"), list):
        chunk["choices"] = chunk["choices"] * draw(st.integers(0, 2))
    return chunk


def outcome(run: Any) -> tuple[list, str | None]:
    """The events a run yields, and the error it ends with (by message)."""
    seen: list = []
    try:
        seen.extend(run())
    except UpstreamError as exc:
        return seen, exc.message
    return seen, None


@given(first=near_plain_chunks(), second=near_plain_chunks())
@settings(max_examples=500, deadline=None)
def test_the_plain_text_shortcut_gives_the_events_the_general_reading_gives(
        first: dict, second: dict) -> None:
    # Most chunks skip the general reading; whatever a chunk holds, the events (and
    # the error, if any) must be the ones the general reading of it gives.
    def general() -> Iterator[Any]:
        from orcli.http.chunks import StreamState

        state = StreamState()
        for chunk in (first, second):
            yield from state.feed(chunk, StreamError)
        yield from state.finish()

    sent = stream(json.dumps(first), json.dumps(second))  # escaped: a lone surrogate too
    assert outcome(lambda: events(sent)) == outcome(lambda: list(general()))
