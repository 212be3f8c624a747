"""`orcli stream`: write the answer as it arrives, and keep it when the stream fails.

Each event from `orcli.http.chunks` goes straight to an output: `TextOutput` (the
answer on stdout, reasoning on stderr when asked) or `JsonlOutput` (one JSON
object per event, flushed). Both write once per event and remember only the
last character printed, so the cost per chunk does not grow with the answer.
The text is flushed once per piece of the body (an HTTP chunk, as the server
flushed it), before orcli waits for the next (the client calls `after_read`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from msgspec.structs import replace

from orcli import render
from orcli.commands.sending import (
    Call,
    request_headers,
    run_answer,
    want_usage,
    write_usage,
)
from orcli.errors import ApiError, ExitStatus, OrcliError, UpstreamError, numeric_code
from orcli.http.chunks import StreamError, StreamState
from orcli.models.pricing import dumps_json
from orcli.options import StreamOptions
from orcli.render.iostreams import Streams
from orcli.response.events import Content, Done, Event, Reasoning, ToolCall, Usage
from orcli.response.result import Result, ResultBuilder

if TYPE_CHECKING:
    from orcli.http.client import Client


def run_stream(opts: StreamOptions, streams: Streams) -> int:
    """Send the streaming request, relay its events, then the usage line."""
    return run_answer(opts, streams, "stream", lambda call: send(call, opts, streams))


def send(call: Call, opts: StreamOptions, streams: Streams) -> int:
    """Stream the turn; only a stream that completed is saved to -C's file."""
    relayed = Relayed()
    try:
        result = relay_stream(call.client, call.guarded.body, opts, streams, call.spinner,
                              relayed)
    except (OrcliError, KeyboardInterrupt, BrokenPipeError) as exc:
        # A closed pipe (`| head`) ends orcli quietly with 0; the stream is billed all the same.
        status = exc.status if isinstance(exc, OrcliError) else (
            ExitStatus.OK if isinstance(exc, BrokenPipeError) else ExitStatus.INTERRUPTED)
        if relayed.answered(exc):  # OpenRouter bills a stream cut or stopped after it began
            call.log.record(None, call.guarded, call.started, status, partial=relayed.partial())
        raise
    call.log.record(result, call.guarded, call.started, ExitStatus.OK)
    call.turn.save(result)  # a cut, an error or Ctrl-C raised before this: FILE stays as it was
    if want_usage(opts, streams):
        write_usage(result, call.settings, streams)
    return ExitStatus.OK


class Relayed:
    """What a stream had given when it failed: the ledger records a stream cut after it began."""

    def __init__(self) -> None:
        self.builder = ResultBuilder()
        self.seen: StreamState | None = None  # set once the first event is in

    def answered(self, exc: BaseException) -> bool:
        return self.seen is not None or isinstance(exc, ApiError)

    def partial(self) -> Result | None:
        if self.seen is None:
            return None
        got = self.builder.build()
        return replace(got, id=got.id or self.seen.id, model=got.model or self.seen.model,
                       provider=got.provider or self.seen.provider)


def relay_stream(client: Client, body: dict[str, Any], opts: StreamOptions, streams: Streams,
                 spinner: render.Spinner, relayed: Relayed | None = None) -> Result:
    """Print the stream's events as they come; the Result once it is complete."""
    spinner.start()
    output = (JsonlOutput if opts.jsonl else TextOutput)(streams, opts.show_reasoning, spinner.stop)
    relayed = relayed or Relayed()
    builder = relayed.builder
    try:
        # Flushed once per piece of the body: it shows as soon as it has arrived,
        # with one write to stdout per piece however many events it holds.
        with client.stream(body, headers=request_headers(opts),
                           after_read=streams.stdout.flush) as reply:
            relayed.seen = reply.seen
            builder.cache_status = reply.cache_status
            relay(reply.events, output, builder)
    except OrcliError as exc:
        output.fail(exc)
        raise
    except KeyboardInterrupt:
        output.interrupted()
        raise
    finally:
        spinner.stop()
    return builder.build()


def relay(events: Iterable[Event], output: TextOutput | JsonlOutput,
          builder: ResultBuilder) -> None:
    """Hand each event to the output as it comes: one lookup and one write per event."""
    handlers = {Content: output.content, Reasoning: output.reasoning,
                ToolCall: output.tool_call, Usage: output.remember_usage, Done: output.done}
    for event in events:
        if type(event) is Done and event.finish_reason == "error":
            # A provider may end with finish_reason "error" and no error object:
            # the answer is incomplete, so it must not pass as a success.
            raise UpstreamError("the provider ended the answer with finish_reason \"error\"")
        builder.add(event)
        handlers[type(event)](event)


class _Output:
    """What both outputs share: reasoning on stderr when asked, and the stream's facts.

    `before_output` (the spinner's stop) is called before anything is written:
    the spinner keeps turning through events that print nothing, such as
    reasoning without --show-reasoning.
    """

    def __init__(self, streams: Streams, show_reasoning: bool,
                 before_output: Callable[[], None] = lambda: None) -> None:
        self.streams = streams
        self.show_reasoning = show_reasoning
        self.before_output = before_output
        self.dim_reasoning = streams.stderr_color
        self.reasoning_last = ""  # last character of reasoning on stderr; "" before any

    def show(self, event: Reasoning) -> None:
        """Reasoning on stderr as it comes, with --show-reasoning."""
        if self.show_reasoning:
            self.before_output()
            self.streams.stdout.flush()  # text before it in the same read comes first
            self.reasoning_last = event.text[-1]
            self.streams.err(event.text, dim=self.dim_reasoning, end="")  # made safe there

    @property
    def reasoning_open(self) -> bool:
        """Reasoning shown on stderr has not ended its line yet."""
        return self.reasoning_last not in ("", "\n")

    def end_reasoning(self) -> None:
        # Reasoning arrives in fragments without newlines; end its line before
        # the answer (or an error) starts, so the two do not run together.
        if self.reasoning_open:
            _write_err(self.streams, "\n")
            self.reasoning_last = "\n"


class TextOutput(_Output):
    """The answer on stdout as it arrives; tool calls as JSON at the end."""

    def __init__(self, streams: Streams, show_reasoning: bool,
                 before_output: Callable[[], None] = lambda: None) -> None:
        super().__init__(streams, show_reasoning, before_output)
        self.last_char = ""  # last character on stdout; "" while nothing was printed
        self.calls: list[dict[str, Any]] = []

    def content(self, event: Content) -> None:
        if self.last_char == "" or self.reasoning_open:
            # The first text stops the spinner; text after shown reasoning ends its line.
            self.before_output()
            self.end_reasoning()
        # Noted before writing: a Ctrl-C landing just after the write must
        # still see the text and end its line.
        self.last_char = event.text[-1]
        self.streams.out(render.answer_text(self.streams, event.text))  # flushed per piece

    def reasoning(self, event: Reasoning) -> None:
        self.show(event)

    def tool_call(self, event: ToolCall) -> None:
        self.calls.append(tool_call_dict(event))

    def remember_usage(self, event: Usage) -> None:
        pass  # the usage line comes from the Result, after the answer

    def done(self, event: Done) -> None:
        self.before_output()
        self.end_reasoning()
        self.end_line()
        if self.calls:
            self.streams.out(render.format_tool_calls(self.calls) + "\n", flush=True)
        elif self.last_char == "":
            self.streams.err(f"orcli: warning: empty answer (finish_reason: {event.finish_reason})")

    def fail(self, exc: OrcliError) -> None:
        self._close_quietly()

    def interrupted(self) -> None:
        self._close_quietly()

    def end_line(self) -> None:
        """One final newline, unless the text already ended with one; then flush."""
        if self.last_char not in ("", "\n"):
            self.streams.out("\n")
            self.last_char = "\n"
        # The last read's text is still unflushed: the stream ends, or fails,
        # without asking for another read. It must show before stderr's lines.
        self.streams.stdout.flush()

    def _close_quietly(self) -> None:
        # On failure or Ctrl-C the partial text keeps its final newline too, so
        # the error line and the shell prompt start on a line of their own. The
        # exit code, not a missing newline, is what tells a script it is partial.
        try:
            self.before_output()
            self.end_reasoning()
            self.end_line()
        except (OSError, ValueError):
            pass  # the reader is gone; the original failure is what to report


class JsonlOutput(_Output):
    """One JSON object per event on stdout, flushed; the `error` event on failure."""

    def content(self, event: Content) -> None:
        self._write({"type": "content", "text": event.text})

    def reasoning(self, event: Reasoning) -> None:
        # A typed event cannot be mistaken for the answer, so it is always
        # written; --show-reasoning adds the plain text on stderr as for text.
        self._write({"type": "reasoning", "text": event.text})
        self.show(event)

    def tool_call(self, event: ToolCall) -> None:
        self._write({"type": "tool_call", **tool_call_dict(event)})

    def remember_usage(self, event: Usage) -> None:
        self.before_output()
        self.streams.out(dumps_json({
            "type": "usage", "prompt_tokens": event.prompt_tokens,
            "completion_tokens": event.completion_tokens, "cost": event.cost,
        }) + "\n")  # flushed once per piece, with the events around it

    def done(self, event: Done) -> None:
        self.end_reasoning()
        self._write({"type": "done", "finish_reason": event.finish_reason,
                     "id": event.id, "model": event.model})
        self.streams.stdout.flush()  # the last events come after the last read's flush

    def fail(self, exc: OrcliError) -> None:
        try:
            self.before_output()
            self.end_reasoning()
            self._write({"type": "error", "code": error_code(exc), "message": exc.message})
            self.streams.stdout.flush()
        except (OSError, ValueError):
            pass  # the reader is gone; stderr still gets the error line

    def interrupted(self) -> None:
        # Ctrl-C is the user's doing, not an error of the stream: no event, but what
        # came before it is written out.
        try:
            self.streams.stdout.flush()
        except (OSError, ValueError):
            pass

    def _write(self, obj: dict[str, Any]) -> None:
        self.before_output()
        self.streams.out(json.dumps(obj, ensure_ascii=False) + "\n")  # flushed per piece


def tool_call_dict(event: ToolCall) -> dict[str, Any]:
    """A finished tool call in the shape chat prints: {"id", "name", "arguments"}."""
    return {"id": event.id, "name": event.name, "arguments": event.arguments}


def error_code(exc: OrcliError) -> object:
    """The server's own code for the jsonl `error` event: 502 for "502", else as sent.

    The error object's code comes first (a 200 or a 400 whose body says 502 is
    a 502); an HTTP error without a numeric one gives its status; failures with
    no server code (a cut stream, a refused connection) give null. The exit
    code is $?.
    """
    if isinstance(exc, StreamError):
        code = exc.code
    elif isinstance(exc, ApiError):
        code = exc.api_code
        if numeric_code(code, names=False) is None and exc.http_status != 200:
            return exc.http_status
    else:
        return None
    number = numeric_code(code, names=False)
    return number if number is not None else code


def _write_err(streams: Streams, text: str) -> None:
    """A fragment on stderr, flushed, with no newline added (unlike Streams.err)."""
    streams.err(text, end="")
