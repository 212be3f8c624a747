"""`orcli chat`: one request, the whole answer, then the usage line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orcli import render
from orcli.commands.sending import (
    Call,
    request_headers,
    run_answer,
    want_usage,
    write_usage,
)
from orcli.commands.turn import Turn
from orcli.errors import ApiError, ExitStatus, OrcliError, UpstreamError
from orcli.options import ChatOptions
from orcli.render.iostreams import Streams
from orcli.response.events import parse_usage
from orcli.response.result import Result, result_from_answer

if TYPE_CHECKING:
    from orcli.http.client import Reply


def run_chat(opts: ChatOptions, streams: Streams) -> int:
    """Build the request, send it, print the answer and the usage line."""
    return run_answer(opts, streams, "chat", lambda call: send(call, opts, streams))


def send(call: Call, opts: ChatOptions, streams: Streams) -> int:
    """Send the turn, print the answer, save it to -C's file, then the usage line."""
    call.spinner.start()
    try:
        reply = call.client.chat(call.guarded.body, headers=request_headers(opts))
    except ApiError as exc:  # the API answered, with an error: it goes in the ledger too
        call.log.record(None, call.guarded, call.started, exc.status)
        raise
    finally:
        call.spinner.stop()
    try:
        result = print_answer(reply, opts, streams, call.turn)
    except OrcliError as exc:
        call.log.record(_usage_only(reply.answer, reply.cache_status), call.guarded,
                        call.started, exc.status)
        raise
    call.log.record(result, call.guarded, call.started, ExitStatus.OK)
    if want_usage(opts, streams):
        write_usage(result, call.settings, streams)
    return ExitStatus.OK


def print_answer(reply: Reply, opts: ChatOptions, streams: Streams, turn: Turn) -> Result:
    """The answer on stdout (or --json), saved to -C's file; its Result."""
    if opts.json_out:
        render.write_json(streams, reply.answer)  # as the API gave it, whatever its shape
        result = _usage_only(reply.answer, reply.cache_status)
        if turn.conversation is not None:  # --json prints any shape; -C needs a real answer
            turn.save(result_from_answer(reply.answer))
    else:
        result = result_from_answer(reply.answer, reply.cache_status)
        print_result(result, opts, streams)
        turn.save(result)  # after printing: an answer that failed there is not kept
    return result


def print_result(result: Result, opts: ChatOptions, streams: Streams) -> None:
    """The assistant's text, or its tool calls as JSON; reasoning only to stderr."""
    if opts.show_reasoning and result.reasoning:
        render.write_reasoning(streams, result.reasoning)
    if result.tool_calls:
        streams.out(render.format_tool_calls(result.tool_call_dicts()) + "\n", flush=True)
        return
    if result.finish_reason == "error":
        render.write_answer(streams, result.text, False)  # what came stays, as with a stream
        raise UpstreamError("the provider ended the answer with finish_reason \"error\"")
    if result.text == "":
        streams.err(f"orcli: warning: empty answer (finish_reason: {result.finish_reason})")
    # Structured output is JSON, not Markdown: it is printed as is, also on a terminal.
    markdown = render.markdown_wanted(streams, opts.plain or opts.body.structured)
    render.write_answer(streams, result.text, markdown)


def _usage_only(answer: dict, cache_status: str | None = None) -> Result:
    """Enough of a Result for the usage line and the ledger, from an answer of any shape."""
    usage, model = answer.get("usage"), answer.get("model")
    ids = {k: v if isinstance(v, str) and v else None
           for k, v in (("model", model), ("id", answer.get("id")),
                        ("provider", answer.get("provider")))}
    return Result(usage=parse_usage(usage) if isinstance(usage, dict) else None,
                  cache_status=cache_status, **ids)
