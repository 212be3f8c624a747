"""What chat and stream share: the request they send, the client, and the usage line."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from msgspec import Struct, field

from orcli import render
from orcli.commands.turn import Turn, check_inputs
from orcli.errors import ExitStatus, GuardError
from orcli.io.inputs import gather_messages, read_body_files
from orcli.options import AnswerOptions
from orcli.render.iostreams import Streams
from orcli.request import routing
from orcli.request.payload import build_payload
from orcli.response.result import Result
from orcli.store.config import Settings

if TYPE_CHECKING:
    from orcli.commands.ledgering import CallLog
    from orcli.http.client import Client
    from orcli.request.guards import Guarded


class Call(Struct):
    """One call, checked and ready: what chat and stream then each send their own way."""

    settings: Settings
    turn: Turn
    log: CallLog
    guarded: Guarded
    spinner: render.Spinner
    client: Client
    started: float = field(default_factory=time.monotonic)


def run_answer(opts: AnswerOptions, streams: Streams, command: str,
               send: Callable[[Call], int]) -> int:
    """Everything chat and stream do alike around `send`: settings, the -C file locked
    until saved, the ledger and budgets, the request and its guards, --dry-run."""
    from orcli.commands.ledgering import CallLog
    from orcli.commands.turn import build_turn, conversation_for
    from orcli.store.config import load_settings

    settings = load_settings(opts.settings_flags, streams.env, streams.err)
    with conversation_for(opts, streams) as conversation:
        turn = build_turn(opts, streams, conversation)
        log = CallLog.open(settings, streams, command, opts.tags, opts.no_ledger)
        guarded = prepare_request(opts, streams, settings, stream=command == "stream",
                                  turn=turn, log=log)
        if opts.dry_run:
            render.write_json(streams, guarded.body)
            return ExitStatus.OK
        spinner = render.Spinner(streams, f"waiting for {settings.model}")
        return send(Call(settings, turn, log, guarded, spinner,
                         open_client(settings, opts, spinner)))


def prepare_request(opts: AnswerOptions, streams: Streams, settings: Settings,
                    stream: bool, turn: Turn | None = None,
                    log: CallLog | None = None) -> Guarded:
    """The request to send: the turn's messages and the flags, then every check before sending.

    Without a turn, the messages are PROMPT, stdin, -f, --messages and -s alone.
    With a call log, the daily and monthly budgets are kept as --max-cost is.
    """
    if turn is None:
        turn = Turn(None, gather_messages(opts, streams))
    body = build_payload(settings.model, turn.messages, opts.body, read_body_files(opts.body),
                         stream=stream)
    body = routing.apply_routing(body, opts.routing)
    check_inputs(body, turn, settings, streams.env)
    from orcli.commands.lookup import known_efforts, model_limits
    from orcli.request.guards import check_reasoning_effort, guard_request

    if routing.requested_effort(body) is not None:  # the catalog is read only then
        check_reasoning_effort(body, known_efforts(str(body["model"]), settings, streams.env))
    cap = log.cap(opts.max_cost) if log else opts.max_cost
    limits = model_limits(body, settings, streams, with_prices=cap is not None)
    calibration = log.calibration(str(body["model"])) if log else None
    try:
        guarded = guard_request(body, limits, cap, calibration)
    except GuardError as exc:
        raise (log.budget_refusal(exc, opts.max_cost) if log else exc) from None
    if log:
        log.check(guarded.worst_case)
    return guarded


def request_headers(opts: AnswerOptions) -> dict[str, str]:
    """Headers beyond the client's own: the response cache's, when asked for."""
    return routing.request_headers(opts.routing)


def open_client(settings: Settings, opts: AnswerOptions, spinner: render.Spinner) -> Client:
    """The client; retry notes and --debug lines go through the spinner, which erases first."""
    from orcli.app import client_for

    return client_for(spinner.streams, settings, debug=spinner.line if opts.debug else None,
                      notify=spinner.line)


def want_usage(opts: AnswerOptions, streams: Streams) -> bool:
    """--usage / --no-usage, else on only when stderr is a terminal."""
    return opts.usage if opts.usage is not None else streams.stderr_isatty


def write_usage(result: Result, settings: Settings, streams: Streams) -> None:
    """The usage line for an answer, naming the model that served it."""
    render.write_usage(streams, usage_text(result, settings, streams.env))


def usage_text(result: Result, settings: Settings | None = None,
               env: Mapping[str, str] | None = None) -> str:
    """Tokens and dollars: `usage.cost` when the API gave it, else an estimate.

    With `settings` and `env` the estimate may also use the cached catalog's prices;
    without them only the built-in prices. No usage at all: "? in, ? out".
    """
    model = result.model or (settings.model if settings else "?")
    usage = result.usage
    cached = result.cached  # answered by OpenRouter's response cache
    if usage is None:
        return render.usage_line(model, None, None, None, estimated=False, cached=cached)
    tokens = (usage.prompt_tokens, usage.completion_tokens)
    if usage.cost is not None:
        return render.usage_line(model, *tokens, usage.cost, estimated=False, cached=cached)
    from orcli.commands.lookup import estimated_cost

    estimate = estimated_cost(model, *tokens, settings, env)
    return render.usage_line(model, *tokens, estimate, estimated=True, cached=cached)
