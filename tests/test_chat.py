"""`orcli chat` through its real entry point against the fake OpenRouter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orcli import __version__
from tests.conftest import API_KEY
from tests.fake_openrouter import (
    ERR_200,
    ERR_400_MODEL,
    ERR_401_COOKIE,
    ERR_401_USER,
    ERR_402,
    ERR_403_MODERATION,
    completion,
    tool_call,
)


def test_piped_prompt_prints_answer_plus_one_newline(server, run):
    server.json(completion("A haiku about pipes"))
    result = run("chat", stdin="hello")
    assert result.stdout == "A haiku about pipes\n"
    assert result.stderr == ""
    sent = server.requests[0]
    assert sent.method == "POST" and sent.path == "/api/v1/chat/completions"
    assert sent.json() == {"model": "mistralai/devstral-2512",
                           "messages": [{"role": "user", "content": "hello"}]}


def test_answer_ending_in_newline_gets_no_second_one(server, run):
    server.json(completion("line one\nline two\n"))
    assert run("chat", "hi").stdout == "line one\nline two\n"


def test_prompt_words_then_blank_line_then_stdin(server, run):
    server.json(completion("ok"))
    run("chat", "summarize", "this", stdin="file text\nmore\n")
    assert server.requests[0].json()["messages"] == [
        {"role": "user", "content": "summarize this\n\nfile text\nmore\n"}]


def test_files_are_appended_in_order_after_stdin(server, run, tmp_path: Path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("AAA")
    b.write_text("BBB")
    server.json(completion("ok"))
    run("chat", "review", "-f", str(a), "--file", str(b), stdin="diff")
    assert server.requests[0].json()["messages"][0]["content"] == "review\n\ndiff\n\nAAA\n\nBBB"


def test_no_stdin_flag_ignores_piped_input(server, run):
    server.json(completion("ok"))
    run("chat", "--no-stdin", "just this", stdin="ignored")
    assert server.requests[0].json()["messages"][0]["content"] == "just this"


def test_system_message_comes_first(server, run):
    server.json(completion("ok"))
    run("chat", "-s", "Be terse.", "hi")
    assert server.requests[0].json()["messages"] == [
        {"role": "system", "content": "Be terse."}, {"role": "user", "content": "hi"}]


def test_every_body_flag_lands_in_the_body(server, run):
    server.json(completion("ok"))
    run("chat", "hi", "-t", "0.7", "--top-p", "0.9", "--max-tokens", "50", "--stop", "END",
        "--stop", "STOP", "--seed", "42", "--frequency-penalty", "0.5",
        "--presence-penalty", "-0.5", "-m", "openai/gpt-4o")
    body = server.requests[0].json()
    assert body == {
        "model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.7, "top_p": 0.9, "max_tokens": 50, "stop": ["END", "STOP"],
        "seed": 42, "frequency_penalty": 0.5, "presence_penalty": -0.5,
    }


def test_zero_values_are_sent_not_dropped(server, run):
    server.json(completion("ok"))
    run("chat", "hi", "-t", "0", "--seed", "0", "--top-p", "0", "--presence-penalty", "0")
    body = server.requests[0].json()
    assert body["temperature"] == 0 and body["seed"] == 0
    assert body["top_p"] == 0 and body["presence_penalty"] == 0


def test_option_values_parse_as_json_else_string(server, run):
    server.json(completion("ok"))
    run("chat", "hi", "-o", "top_k=40", "-o", 'provider={"sort":"price"}', "-o",
        "transforms=[]", "-o", "user=alice", "-o", "logprobs=true")
    body = server.requests[0].json()
    assert body["top_k"] == 40 and body["provider"] == {"sort": "price"}
    assert body["transforms"] == [] and body["user"] == "alice" and body["logprobs"] is True


@pytest.mark.parametrize("key", ["model", "messages", "stream"])
def test_option_cannot_override_model_messages_or_stream(server, run, key):
    result = run("chat", "hi", "-o", f"{key}=x", expect=2)
    assert f"-o {key}" in result.stderr
    assert server.requests == []


def test_messages_file_is_the_conversation(server, run, tmp_path: Path):
    conv = [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"},
            {"role": "user", "content": "and 3+3?"}]
    path = tmp_path / "conv.json"
    path.write_text(json.dumps(conv))
    server.json(completion("6"))
    run("chat", "--messages", str(path), "-s", "math tutor")
    assert server.requests[0].json()["messages"] == [
        {"role": "system", "content": "math tutor"}, *conv]


def test_messages_from_stdin_dash(server, run):
    server.json(completion("ok"))
    run("chat", "--messages", "-", stdin=json.dumps([{"role": "user", "content": "yo"}]))
    assert server.requests[0].json()["messages"] == [{"role": "user", "content": "yo"}]


@pytest.mark.parametrize("content", ['{"role": "user"}', '[{"role": "user", "content": 5}]',
                                     '[{"role": "wizard", "content": "x"}]', "[]", "not json"])
def test_bad_messages_file_exits_2_before_sending(server, run, tmp_path: Path, content):
    path = tmp_path / "conv.json"
    path.write_text(content)
    result = run("chat", "--messages", str(path), expect=2)
    assert result.stderr.startswith("orcli: error: --messages")
    assert server.requests == []


def test_schema_asks_for_strict_json_schema(server, run, tmp_path: Path):
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    path = tmp_path / "person.json"
    path.write_text(json.dumps(schema))
    server.json(completion('{"name": "Ada"}'))
    run("chat", "who?", "--schema", str(path))
    assert server.requests[0].json()["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "person", "strict": True, "schema": schema}}


def test_inline_schema_and_json_object(server, run):
    server.json(completion("{}"))
    server.json(completion("{}"))
    run("chat", "x", "--schema", '{"type": "object"}')
    run("chat", "x", "--json-object")
    assert server.requests[0].json()["response_format"]["json_schema"]["schema"] == {
        "type": "object"}
    assert server.requests[1].json()["response_format"] == {"type": "json_object"}


def test_tools_and_tool_choice_and_tool_call_output(server, run, tmp_path: Path):
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}]
    path = tmp_path / "tools.json"
    path.write_text(json.dumps(tools))
    server.json(completion(None, finish_reason="tool_calls", tool_calls=[
        tool_call("get_weather", '{"city": "Paris"}'), tool_call("now", "", "call_2")]))
    result = run("chat", "weather?", "--tools", str(path), "--tool-choice", "get_weather")
    body = server.requests[0].json()
    assert body["tools"] == tools
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert json.loads(result.stdout) == [
        {"id": "call_abc123", "name": "get_weather", "arguments": {"city": "Paris"}},
        {"id": "call_2", "name": "now", "arguments": {}}]


@pytest.mark.parametrize("args", [["-t", "2.5"], ["-t", "-0.1"], ["--top-p", "1.5"],
                                  ["--max-tokens", "0"], ["--frequency-penalty", "3"],
                                  ["--presence-penalty", "-2.1"], ["-t", "nan"]])
def test_out_of_range_values_exit_2_before_sending(server, run, args):
    result = run("chat", "hi", *args, expect=2)
    assert "must be" in result.stderr
    assert server.requests == []


@pytest.mark.parametrize("args", [["--schema", "{bad"], ["--tool-choice", "{bad"],
                                  ["-o", "noequals"]])
def test_bad_json_given_to_a_flag_exits_2(server, run, args):
    run("chat", "hi", *args, expect=2)
    assert server.requests == []


def test_bad_json_in_tools_file_exits_2(server, run, tmp_path: Path):
    path = tmp_path / "tools.json"
    path.write_text("[{")
    result = run("chat", "hi", "--tools", str(path), expect=2)
    assert "--tools" in result.stderr and server.requests == []


def test_no_prompt_at_all_exits_2_with_a_hint(server, run):
    result = run("chat", stdin=None, expect=2)
    assert "no prompt" in result.stderr and len(result.stderr.splitlines()) == 1
    assert server.requests == []


def test_empty_pipe_and_no_words_is_no_prompt(server, run):
    run("chat", stdin=b"", expect=2)


def test_stdin_not_utf8_exits_2_and_sends_nothing(server, run):
    result = run("chat", "hi", stdin=b"caf\xe9 latin-1", expect=2)
    assert "stdin is not valid UTF-8" in result.stderr
    assert server.requests == []


def test_unreadable_file_exits_2(server, run, tmp_path: Path):
    result = run("chat", "hi", "-f", str(tmp_path / "missing.txt"), expect=2)
    assert "missing.txt" in result.stderr and server.requests == []


def test_dry_run_needs_no_key_and_no_network(run):
    result = run("chat", "hi", "-t", "0", "--dry-run", key=False,
                 base_url="http://127.0.0.1:9/api/v1")
    assert json.loads(result.stdout) == {"model": "mistralai/devstral-2512",
                                         "messages": [{"role": "user", "content": "hi"}],
                                         "temperature": 0}


def test_json_prints_the_api_response(server, run):
    answer = completion("hi there")
    server.json(answer)
    result = run("chat", "hi", "--json")
    assert json.loads(result.stdout) == answer


def test_headers_sent_on_every_request(server, run):
    server.json(completion("ok"))
    run("chat", "hi")
    headers = server.requests[0].headers
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert headers["user-agent"] == f"orcli/{__version__}"
    assert headers["x-openrouter-title"] == "orcli" and headers["x-title"] == "orcli"
    assert headers["http-referer"].startswith("https://")


def test_unicode_survives_both_ways(server, run):
    text = "café — 日本語 — 🦀🚀 — line\u2028sep — e\u0301"
    server.json(completion(text))
    result = run("chat", stdin=text.encode())
    assert server.requests[0].json()["messages"][0]["content"] == text
    assert result.stdout == text + "\n"


def test_usage_line_on_request_with_api_cost(server, run):
    server.json(completion("ok"))
    result = run("chat", "hi", "--usage")
    assert result.stdout == "ok\n"
    assert result.stderr.strip() == \
        "orcli: mistralai/devstral-2512: 3 in, 7 out tokens, $0.0000152"


def test_usage_line_on_by_default_only_on_a_terminal(server, run):
    server.json(completion("ok"))
    server.json(completion("ok"))
    assert "tokens" in run("chat", "hi", tty=True).stderr
    assert run("chat", "hi", "--no-usage", tty=True).stderr == ""


def test_empty_answer_warns_on_stderr_and_exits_0(server, run):
    server.json(completion("", finish_reason="length"))
    result = run("chat", "hi")
    assert result.stdout == ""
    assert result.stderr == "orcli: warning: empty answer (finish_reason: length)\n"


def test_reasoning_only_on_stderr_when_asked(server, run):
    server.json(completion("42", reasoning="thinking hard"))
    server.json(completion("42", reasoning="thinking hard"))
    plain = run("chat", "q")
    shown = run("chat", "q", "--show-reasoning")
    assert plain.stdout == shown.stdout == "42\n"
    assert "thinking" not in plain.stderr and "thinking hard" in shown.stderr


# ---- errors ---------------------------------------------------------------------

@pytest.mark.parametrize("url", ["https://openrouter.ai/api/v1", "https://eu.openrouter.ai/api/v1"])
def test_no_key_for_openrouter_exits_3_and_sends_nothing(run, url):
    result = run("chat", "hi", key=False, base_url=url, expect=3)
    assert result.stderr.startswith("orcli: error: no API key")


def test_no_key_for_another_server_sends_no_authorization_header(server, run):
    server.json(completion("local"))
    assert run("chat", "hi", key=False).stdout == "local\n"
    assert "authorization" not in server.requests[0].headers


@pytest.mark.parametrize("status,body,code,words", [
    (401, ERR_401_USER, 3, "HTTP 401: User not found."),
    (401, ERR_401_COOKIE, 3, "HTTP 401: No cookie auth credentials found"),
    (400, ERR_400_MODEL, 4, "HTTP 400: nosuch/model is not a valid model ID"),
    (402, ERR_402, 5, "HTTP 402: This request requires more credits, or fewer max_tokens"),
    (403, ERR_403_MODERATION, 4, "reasons: harassment"),
    (404, {"error": {"code": 404, "message": "No endpoints found"}}, 4, "HTTP 404"),
])
def test_api_errors_map_to_exit_codes(server, run, status, body, code, words):
    server.json(body, status=status)
    result = run("chat", "hi", "--retries", "0", expect=code)
    assert result.stdout == ""
    assert result.stderr.startswith("orcli: error: ") and words in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_moderation_error_names_the_provider(server, run):
    server.json(ERR_403_MODERATION, status=403)
    assert "provider OpenAI" in run("chat", "hi", expect=4).stderr


def test_error_inside_a_200_body_exits_7(server, run):
    server.json(ERR_200)
    result = run("chat", "hi", "--retries", "0", expect=7)
    assert "Provider returned error" in result.stderr and "upstream connect error" in result.stderr


def test_html_page_is_summarised_not_dumped(server, run):
    server.raw(b"<html><body><h1>502 Bad Gateway</h1>" + b"x" * 5000 + b"</body></html>",
               status=502)
    result = run("chat", "hi", "--retries", "0", expect=7)
    assert result.stderr == "orcli: error: HTTP 502: the server sent an HTML page\n"


def test_200_that_is_not_json_exits_7(server, run):
    server.raw(b"<html>oops</html>", status=200)
    assert "not JSON" in run("chat", "hi", expect=7).stderr


def test_connection_refused_exits_7(run):
    result = run("chat", "hi", "--retries", "0", base_url="http://127.0.0.1:9/api/v1", expect=7)
    assert "cannot reach" in result.stderr and "connection refused" in result.stderr


def test_internal_error_is_one_line_without_traceback(run, monkeypatch):
    import orcli.commands.turn as chat

    def boom(*_a, **_k):
        raise RuntimeError("kaput")

    monkeypatch.setattr(chat, "gather_messages", boom)
    result = run("chat", "hi", expect=1)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("orcli: error: internal error: RuntimeError: kaput")


def test_unknown_flag_is_a_usage_error(run):
    result = run("chat", "--nope", expect=2)
    assert "No such option" in result.stderr


def test_empty_piped_stdin_says_it_was_empty(run):
    result = run("chat", stdin=b"", key=False, expect=2)
    assert "stdin was piped but empty" in result.stderr


def test_f_dash_reads_stdin_at_its_place(server, run, tmp_path: Path):
    (tmp_path / "a.txt").write_text("file text")
    server.json(completion("ok"))
    run("chat", "words", "-f", str(tmp_path / "a.txt"), "-f", "-", stdin="piped")
    assert server.requests[0].json()["messages"][0]["content"] == "words\n\nfile text\n\npiped"


def test_a_silent_pipe_gets_one_note_on_a_terminal_stderr(monkeypatch):
    import os
    import threading

    import orcli.io.inputs as inputs
    from orcli.__main__ import main
    from orcli.render.iostreams import Streams

    monkeypatch.setattr(inputs, "STDIN_NOTE_SECONDS", 0.05)
    read_end, write_end = os.pipe()
    streams = Streams.for_test(env={"HOME": "/nonexistent"})
    streams.stdin, streams.stdin_isatty, streams.stderr_isatty = os.fdopen(read_end, "rb"), \
        False, True

    def feed_after_the_note() -> None:
        for _ in range(1000):  # at most 10 s: a missing note fails the test, never hangs it
            if b"waiting for stdin" in streams.stderr.getvalue():
                break
            threading.Event().wait(0.01)
        os.write(write_end, b"late text")
        os.close(write_end)

    threading.Thread(target=feed_after_the_note, daemon=True).start()
    assert main(["chat", "--dry-run", "--no-usage", "hi"], streams) == 0
    assert b"late text" in streams.stdout.getvalue()
    assert streams.stderr.getvalue().count(b"waiting for stdin") == 1
