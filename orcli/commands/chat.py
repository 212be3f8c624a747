"""`orcli chat` and `orcli stream`: one request, one answer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orcli import render
from orcli.errors import ExitStatus, UpstreamError
from orcli.io.inputs import InputOptions, gather_messages, read_flag_text
from orcli.render.iostreams import Streams
from orcli.request.payload import BodyOptions, build_payload
from orcli.store.config import Settings, load_settings

if TYPE_CHECKING:  # the SSE reader loads only for streams, tool calls and usage lines
    from orcli.http.sse import Usage


@dataclass
class ChatOptions(InputOptions):
    body: BodyOptions = field(default_factory=BodyOptions)
    stream: bool = False
    json_out: bool = False
    jsonl: bool = False
    plain: bool = False
    dry_run: bool = False
    usage: bool | None = None
    show_reasoning: bool = False
    max_cost: Decimal | None = None


def run_chat(opts: ChatOptions, streams: Streams) -> int:
    """Build the request, send it, print the answer and the usage line."""
    settings = load_settings(opts.settings_flags, streams.env, streams.err)
    body = build_request(opts, streams, settings)
    if opts.dry_run:
        render.write_json(streams, body)
        return ExitStatus.OK
    from orcli.http.client import Client

    # Retry notes and --debug lines go through the spinner, which erases itself first.
    spinner = render.Spinner(streams, f"waiting for {settings.model}")
    client = Client(settings, debug=spinner.line if opts.debug else None, notify=spinner.line)
    if opts.stream:
        from orcli.commands.stream import run_stream

        return run_stream(client, body, opts, streams, spinner)
    spinner.start()
    try:
        answer = client.chat(body)
    finally:
        spinner.stop()
    if opts.json_out:
        render.write_json(streams, answer)
    else:
        print_message(answer, opts, streams)
    if want_usage(opts, streams):
        render.write_usage(streams, usage_from_answer(answer, settings, streams.env))
    return ExitStatus.OK


def build_request(opts: ChatOptions, streams: Streams, settings: Settings) -> dict[str, Any]:
    """Messages and body from the flags, with every check that precedes sending."""
    messages = gather_messages(opts, streams)
    body_opts = opts.body
    if body_opts.schema is not None:
        body_opts.schema, body_opts.schema_name = read_schema(body_opts.schema)
    if body_opts.tools is not None:
        body_opts.tools = read_flag_text(body_opts.tools, "--tools")
    body = build_payload(settings.model, messages, body_opts, stream=opts.stream)
    from orcli.request.guards import check_guards

    check_guards(body, settings, opts.max_cost, streams)
    return body


def read_schema(value: str) -> tuple[str, str]:
    """--schema takes inline JSON or a path; the schema's name comes from its file or title."""
    if value.lstrip().startswith("{"):
        name = _schema_title(value) or "response"
        return value, name
    text = read_flag_text(value, "--schema")
    return text, _schema_title(text) or Path(value).stem


def _schema_title(text: str) -> str | None:
    try:
        title = json.loads(text).get("title")
    except (ValueError, AttributeError, RecursionError):
        return None
    return title if isinstance(title, str) else None


def print_message(answer: dict[str, Any], opts: ChatOptions, streams: Streams) -> None:
    """The assistant's text, or its tool calls as JSON; reasoning only to stderr."""
    choice = first_choice(answer)
    message = choice.get("message") or {}
    if not isinstance(message, dict):
        raise UpstreamError("the answer's message is not a JSON object")
    reasoning = message.get("reasoning")
    if opts.show_reasoning and reasoning:
        render.write_reasoning(streams, str(reasoning))
    calls = message.get("tool_calls")
    if calls:
        streams.out(render.format_tool_calls(tool_calls_from(calls)) + "\n", flush=True)
        return
    text = message_text(message.get("content"))
    if choice.get("finish_reason") == "error":
        render.write_answer(streams, text, False)  # what came stays, as with a stream
        raise UpstreamError("the provider ended the answer with finish_reason \"error\"")
    if text == "":
        streams.err(f"orcli: warning: empty answer (finish_reason: {choice.get('finish_reason')})")
    # Structured output is JSON, not Markdown: it is printed as is, also on a terminal.
    structured = opts.body.schema is not None or opts.body.json_object
    render.write_answer(streams, text, render.markdown_wanted(streams, opts.plain or structured))


def message_text(content: object) -> str:
    """The message's text: a string, or the text parts of a list; exit 7 otherwise."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise UpstreamError("the answer's content is neither text nor a list of parts")
    return "".join(p["text"] for p in content
                   if isinstance(p, dict) and isinstance(p.get("text"), str))


def first_choice(answer: dict[str, Any]) -> dict[str, Any]:
    """choices[0], or exit 7 when the answer has none."""
    choices = answer.get("choices")
    if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise UpstreamError("the answer has no choices (the provider returned nothing)")
    return choices[0]


def tool_calls_from(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The API's tool_calls as [{"id", "name", "arguments"}], arguments parsed."""
    if not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls):
        raise UpstreamError("the answer's tool_calls are not a list of objects")
    from orcli.http.sse import parse_arguments

    out = []
    for call in calls:
        function = call.get("function") or {}
        if not isinstance(function, dict):
            raise UpstreamError("the answer has a tool call whose function is not an object")
        out.append({"id": call.get("id"), "name": function.get("name"),
                    "arguments": parse_arguments(function.get("arguments"))})
    return out


def want_usage(opts: ChatOptions, streams: Streams) -> bool:
    """--usage / --no-usage, else on only when stderr is a terminal."""
    return opts.usage if opts.usage is not None else streams.stderr_isatty


def usage_from_answer(
    answer: dict[str, Any], settings: Settings, env: Mapping[str, str] | None = None
) -> str:
    """The usage line for a whole answer, preferring the API's own cost."""
    from orcli.http.sse import parse_usage

    usage = answer.get("usage")
    model = answer.get("model")
    return usage_text(model if isinstance(model, str) and model else settings.model,
                      parse_usage(usage) if isinstance(usage, dict) else None, settings, env)


def usage_text(
    model: str, usage: Usage | None, settings: Settings | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Tokens and dollars: `usage.cost` when the API gave it, else an estimate.

    With `settings` and `env` the estimate may also use the cached catalog's prices;
    without them only the built-in prices. No usage at all: "? in, ? out".
    """
    if usage is None:
        return render.usage_line(model, None, None, None, estimated=False)
    tokens = (usage.prompt_tokens, usage.completion_tokens)
    if usage.cost is not None:
        return render.usage_line(model, *tokens, usage.cost, estimated=False)
    from orcli.request.guards import estimate_usage_cost

    estimate = estimate_usage_cost(model, *tokens, settings=settings, env=env)
    return render.usage_line(model, *tokens, estimate, estimated=True)
