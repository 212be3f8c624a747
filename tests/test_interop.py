"""Shapes other OpenAI-compatible servers send (vLLM, LiteLLM, llama.cpp, mock servers)."""

from __future__ import annotations

import json

import pytest

from tests.fake_openrouter import DONE, Reply, chunk, data


def test_a_fastapi_404_names_the_url_and_points_at_the_base_url(server, run):
    server.json({"detail": "Not Found"}, status=404)
    result = run("chat", "hi", expect=4)
    assert "HTTP 404 from http://127.0.0.1" in result.stderr
    assert "Not Found; check --base-url / OPENROUTER_BASE_URL" in result.stderr


def test_a_501_page_from_a_plain_web_server_points_at_the_base_url(server, run):
    server.raw(b"<html><body>Unsupported method ('POST')</body></html>", status=501)
    result = run("chat", "hi", "--retries", "0", expect=7)
    assert "check --base-url" in result.stderr


def test_an_error_string_beside_a_message_keeps_the_message(server, run):
    server.json({"error": "TypeError", "message": "Cannot read properties of null",
                 "status": 400}, status=400)
    result = run("chat", "hi", expect=4)
    assert "TypeError: Cannot read properties of null" in result.stderr


def test_a_detail_event_inside_a_stream_is_the_servers_error(server, run):
    server.sse([data({"detail": "model field is invalid"})], framing="close")
    result = run("stream", "hi", expect=7)
    assert "model field is invalid" in result.stderr


def test_a_stream_that_ends_before_any_event_is_tried_again(server, run):
    server.sse([], framing="close")
    server.sse([data(chunk("second time", finish_reason="stop")), DONE])
    assert run("stream", "hi").stdout == "second time\n"
    assert len(server.requests) == 2


@pytest.mark.parametrize("field", ["max_model_len", "max_input_tokens"])
def test_a_context_given_under_another_servers_name_is_the_context(server, run, field):
    server.json({"data": [{"id": "local/m", "object": "model", field: 4096}]})
    assert run("models").stdout.split("\t")[:2] == ["local/m", "4096"]


def test_a_catalog_without_prices_never_makes_a_cost_of_zero(server, run):
    server.json({"data": [{"id": "local/m", "object": "model"}]})
    run("models")
    server.reply(Reply(200, {"Content-Type": "application/json"}, [
        b'{"id": "x", "model": "local/m", "choices": [{"message": {"content": "ok"}}],'
        b' "usage": {"prompt_tokens": 3, "completion_tokens": 1}}']))
    result = run("chat", "-m", "local/m", "--usage", "hi")
    assert "cost unknown" in result.stderr and "$0" not in result.stderr


def test_a_stream_asks_for_usage_as_other_servers_need(run):
    body = json.loads(run("stream", "--dry-run", "hi", key=False).stdout)
    assert body["stream_options"] == {"include_usage": True}
    chat = json.loads(run("chat", "--dry-run", "hi", key=False).stdout)
    assert "stream_options" not in chat


def test_stream_options_from_o_are_kept(run):
    body = json.loads(run("stream", "--dry-run", "hi", "-o",
                          'stream_options={"include_usage": false}', key=False).stdout)
    assert body["stream_options"] == {"include_usage": False}
