"""The Typer app: declares commands and flags, builds Options, calls the command.

No logic lives here; each command's work is in `orcli.commands.*`.
"""

from typing import Annotated, Optional

import typer

from orcli import __version__
from orcli.cli import completion
from orcli.cli.helptext import (
    BODY,
    CHAT_EPILOG,
    CONN,
    FILTER,
    GUARD,
    INPUT,
    MODELS_EPILOG,
    OUT,
    PRICE_EPILOG,
    ROOT_EPILOG,
    STREAM_EPILOG,
    GroupedCommand,
)
from orcli.errors import UsageError

app = typer.Typer(
    name="orcli",
    help="A command-line client for the OpenRouter API, made for shell pipelines and CI.",
    epilog=ROOT_EPILOG,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"orcli {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """A command-line client for the OpenRouter API, made for shell pipelines and CI."""


ModelOpt = Annotated[Optional[str], typer.Option(
    "-m", "--model", metavar="MODEL", autocompletion=completion.complete_model,
    help="Model id [env ORCLI_MODEL; default mistralai/devstral-2512].", rich_help_panel=CONN)]
BaseUrlOpt = Annotated[Optional[str], typer.Option(
    "--base-url", metavar="URL", help="API base URL [env OPENROUTER_BASE_URL].",
    rich_help_panel=CONN)]
TimeoutOpt = Annotated[Optional[float], typer.Option(
    "--timeout", metavar="SECONDS", help="Deadline per attempt [env ORCLI_TIMEOUT; 600].",
    rich_help_panel=CONN)]
RetriesOpt = Annotated[Optional[int], typer.Option(
    "--retries", metavar="N", help="Extra attempts on 429/5xx/network errors "
    "[env ORCLI_RETRIES; 2].", rich_help_panel=CONN)]
RefreshOpt = Annotated[bool, typer.Option(
    "--refresh", help="Fetch the model catalog again, ignoring the one-hour cache.",
    rich_help_panel=CONN)]
NoColorOpt = Annotated[bool, typer.Option(
    "--no-color", help="No colour or styles on stdout or stderr (as NO_COLOR=1 does).",
    rich_help_panel=OUT)]
DebugOpt = Annotated[bool, typer.Option(
    "--debug", help="Show tracebacks and request details on stderr (key redacted).")]
FilesOpt = Annotated[Optional[list[str]], typer.Option(
    "-f", "--file", metavar="PATH", help="Append this file's text (repeatable).",
    show_default=False, rich_help_panel=INPUT)]
MessagesOpt = Annotated[Optional[str], typer.Option(
    "--messages", metavar="PATH", help="JSON array of {role, content} messages, used instead "
    "of PROMPT and stdin ('-' reads it from stdin).", rich_help_panel=INPUT)]
SystemOpt = Annotated[Optional[str], typer.Option(
    "-s", "--system", metavar="TEXT", help="System message, sent first.",
    rich_help_panel=INPUT)]
NoStdinOpt = Annotated[bool, typer.Option(
    "--no-stdin", help="Never read stdin, even when it is piped.", rich_help_panel=INPUT)]


def build_command(first_arg: str | None) -> typer.main.TyperGroup:
    """The click group for this run, holding only the command it will run.

    Building every command's parameters costs about 3 ms per run; `orcli models`
    needs only `models`, and `orcli --version` none. Help and completion need all.
    """
    import copy

    import typer.main

    if first_arg in (None, "-h", "--help"):
        return typer.main.get_group(app)
    only = copy.copy(app)
    only.registered_commands = [i for i in app.registered_commands if i.name == first_arg]
    if not only.registered_commands and not first_arg.startswith("-"):
        return typer.main.get_group(app)  # a mistyped command: let click suggest the names
    return typer.main.get_group(only)


def settings_flags(model: str | None, base_url: str | None = None, timeout: float | None = None,
                   retries: int | None = None) -> dict[str, object]:
    """The flags that override environment and config file."""
    return {"model": model, "base_url": base_url, "timeout": timeout, "retries": retries}


def parse_usd(value: str | None, flag: str) -> "Decimal | None":  # noqa: F821
    """A dollar amount as Decimal (never float), or exit 2."""
    from decimal import Decimal, InvalidOperation

    if value is None:
        return None
    try:
        if "_" in value:  # Decimal reads "0_05" as 5: never what a budget meant
            raise InvalidOperation
        amount = Decimal(value.lstrip("$"))
    except InvalidOperation:
        raise UsageError(f"{flag} expects a dollar amount like 0.05, not {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise UsageError(f"{flag} must be a dollar amount of 0 or more, not {value!r}")
    if amount and amount.adjusted() < -30:
        # No price is that small, and a refusal would print the budget's every digit.
        raise UsageError(f"{flag} must be 0 or at least $1e-30, not {value!r}")
    return amount


@app.command("stream", cls=GroupedCommand, epilog=STREAM_EPILOG,
             short_help="Send a prompt; print the answer as it arrives.",
             help="Send a prompt and print the answer as it arrives, flushed piece by piece.")
@app.command("chat", cls=GroupedCommand, epilog=CHAT_EPILOG,
             short_help="Send a prompt; print the whole answer.",
             help="Send a prompt and print the whole answer; usage and cost on stderr.")
def chat_command(
    ctx: typer.Context,
    prompt: Annotated[Optional[list[str]], typer.Argument(
        metavar="[PROMPT]...", show_default=False,
        help="Prompt words, joined by spaces; piped stdin is appended after a blank line.")] = None,
    file: FilesOpt = None,
    messages: MessagesOpt = None,
    system: SystemOpt = None,
    no_stdin: NoStdinOpt = False,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    temperature: Annotated[Optional[float], typer.Option(
        "-t", "--temperature", metavar="NUM", help="Sampling temperature, 0 to 2.",
        rich_help_panel=BODY)] = None,
    top_p: Annotated[Optional[float], typer.Option(
        "--top-p", metavar="NUM", help="Nucleus sampling, 0 to 1.", rich_help_panel=BODY)] = None,
    max_tokens: Annotated[Optional[int], typer.Option(
        "--max-tokens", metavar="N", help="Most tokens to generate.", rich_help_panel=BODY)] = None,
    stop: Annotated[Optional[list[str]], typer.Option(
        "--stop", metavar="TEXT", help="Stop sequence (repeatable).", rich_help_panel=BODY,
        show_default=False)] = None,
    seed: Annotated[Optional[int], typer.Option(
        "--seed", metavar="N", help="Seed for sampling.", rich_help_panel=BODY)] = None,
    frequency_penalty: Annotated[Optional[float], typer.Option(
        "--frequency-penalty", metavar="NUM", help="-2 to 2.", rich_help_panel=BODY)] = None,
    presence_penalty: Annotated[Optional[float], typer.Option(
        "--presence-penalty", metavar="NUM", help="-2 to 2.", rich_help_panel=BODY)] = None,
    option: Annotated[Optional[list[str]], typer.Option(
        "-o", "--option", metavar="KEY=VALUE", help="Any other body field; VALUE is parsed as "
        "JSON if it can be, e.g. -o top_k=40 (repeatable).", rich_help_panel=BODY,
        show_default=False)] = None,
    schema: Annotated[Optional[str], typer.Option(
        "--schema", metavar="PATH|JSON", help="Structured output: a JSON Schema, inline or in "
        "a file.", rich_help_panel=BODY)] = None,
    json_object: Annotated[bool, typer.Option(
        "--json-object", help="Ask for a JSON object answer.", rich_help_panel=BODY)] = False,
    tools: Annotated[Optional[str], typer.Option(
        "--tools", metavar="PATH", help="File with a JSON array of tool definitions.",
        rich_help_panel=BODY)] = None,
    tool_choice: Annotated[Optional[str], typer.Option(
        "--tool-choice", metavar="CHOICE", autocompletion=completion.complete_tool_choice,
        help="auto, none, required, a function name, or JSON.", rich_help_panel=BODY)] = None,
    max_cost: Annotated[Optional[str], typer.Option(
        "--max-cost", metavar="USD", help="Refuse (exit 8) if the worst case could cost more "
        "than this; sets max_tokens to fit when it is not given.", rich_help_panel=GUARD)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the JSON body that would be sent and exit; no key, and no "
        "network unless --max-cost needs a model's prices from the catalog (the guards still "
        "apply).", rich_help_panel=GUARD)] = False,
    json_out: Annotated[bool, typer.Option(
        "--json", help="chat: print the API's response JSON.", rich_help_panel=OUT)] = False,
    jsonl: Annotated[bool, typer.Option(
        "--jsonl", help="stream: one JSON event per line.", rich_help_panel=OUT)] = False,
    plain: Annotated[bool, typer.Option(
        "--plain", help="chat: print the answer as is, not rendered as Markdown on a terminal.",
        rich_help_panel=OUT)] = False,
    usage: Annotated[Optional[bool], typer.Option(
        "--usage/--no-usage", help="Usage and cost line on stderr [default: on a terminal].",
        rich_help_panel=OUT, show_default=False)] = None,
    show_reasoning: Annotated[bool, typer.Option(
        "--show-reasoning", help="Write the model's reasoning to stderr.",
        rich_help_panel=OUT)] = False,
    no_color: NoColorOpt = False,
    debug: DebugOpt = False,
) -> int:
    from orcli.commands.chat import ChatOptions, run_chat

    is_stream = ctx.info_name == "stream"
    if json_out and is_stream:
        raise UsageError("--json is for orcli chat; orcli stream has --jsonl")
    if jsonl and not is_stream:
        raise UsageError("--jsonl is for orcli stream; orcli chat has --json")
    from orcli.request.payload import BodyOptions

    body = BodyOptions(
        temperature=temperature, top_p=top_p, max_tokens=max_tokens, stop=stop or (),
        seed=seed, frequency_penalty=frequency_penalty, presence_penalty=presence_penalty,
        options=option or (), schema=schema, json_object=json_object, tools=tools,
        tool_choice=tool_choice,
    )
    opts = ChatOptions(
        words=prompt or (), files=file or (), messages_path=messages, system=system,
        no_stdin=no_stdin, body=body, stream=is_stream, json_out=json_out, jsonl=jsonl,
        plain=plain, dry_run=dry_run, usage=usage, show_reasoning=show_reasoning,
        max_cost=parse_usd(max_cost, "--max-cost"),
        settings_flags=settings_flags(model, base_url, timeout, retries), debug=debug,
    )
    return run_chat(opts, ctx.obj.without_color(no_color))


@app.command("models", cls=GroupedCommand, epilog=MODELS_EPILOG,
             short_help="List and search the model catalog; `models show ID`.",
             help="List OpenRouter's models (cached for an hour); `models show ID` for one.")
def models_command(
    ctx: typer.Context,
    search: Annotated[Optional[list[str]], typer.Argument(
        metavar="[SEARCH]...", autocompletion=completion.complete_models_words,
        help="Text to find in model ids and names; or `show ID` for one model's details.",
        show_default=False)] = None,
    max_price: Annotated[Optional[str], typer.Option(
        "--max-price", metavar="USD", help="Most USD per 1M input tokens.",
        rich_help_panel=FILTER)] = None,
    min_context: Annotated[Optional[int], typer.Option(
        "--min-context", metavar="TOKENS", help="Least context length.", min=0,
        rich_help_panel=FILTER)] = None,
    supports: Annotated[Optional[list[str]], typer.Option(
        "--supports", metavar="PARAM", help="Supported parameter, e.g. tools (repeatable).",
        autocompletion=completion.complete_supports, show_default=False,
        rich_help_panel=FILTER)] = None,
    free: Annotated[bool, typer.Option(
        "--free", help="Only models that cost nothing.", rich_help_panel=FILTER)] = False,
    modality: Annotated[Optional[str], typer.Option(
        "--modality", metavar="KIND", help="Input modality, e.g. image.",
        autocompletion=completion.complete_modality, rich_help_panel=FILTER)] = None,
    sort: Annotated[str, typer.Option(
        "--sort", metavar="KEY", help="id, price, context or created.",
        autocompletion=completion.complete_sort, rich_help_panel=OUT)] = "id",
    reverse: Annotated[bool, typer.Option(
        "--reverse", help="Reverse the order.", rich_help_panel=OUT)] = False,
    limit: Annotated[Optional[int], typer.Option(
        "--limit", metavar="N", help="Show at most N models.", min=0,
        rich_help_panel=OUT)] = None,
    json_out: Annotated[bool, typer.Option(
        "--json", help="The API's model objects as a JSON array.", rich_help_panel=OUT)] = False,
    no_color: NoColorOpt = False,
    refresh: RefreshOpt = False,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    debug: DebugOpt = False,
) -> int:
    from orcli.commands.models import ModelsOptions, run_models

    words = list(search or [])
    show_id = None
    if words[:1] == ["show"]:
        if len(words) != 2:
            raise UsageError("usage: orcli models show MODEL_ID")
        show_id, words = words[1], []
    opts = ModelsOptions(
        search=" ".join(words) or None, show_id=show_id,
        max_price=parse_usd(max_price, "--max-price"), min_context=min_context,
        supports=supports or (), free=free, modality=modality, sort=sort, reverse=reverse,
        limit=limit, json_out=json_out, refresh=refresh,
        settings_flags=settings_flags(None, base_url, timeout, retries), debug=debug,
    )
    return run_models(opts, ctx.obj.without_color(no_color))


@app.command("price", cls=GroupedCommand, epilog=PRICE_EPILOG,
             short_help="Estimate what a prompt would cost, without sending it.",
             help="Say what a prompt would cost before sending it (exact token counts for "
             "Mistral's Tekken models, labelled estimates otherwise).")
def price_command(
    ctx: typer.Context,
    text: Annotated[Optional[list[str]], typer.Argument(
        metavar="[TEXT]...", help="Prompt words; piped stdin and -f files are added as for chat.",
        show_default=False)] = None,
    file: FilesOpt = None,
    messages: MessagesOpt = None,
    system: SystemOpt = None,
    no_stdin: NoStdinOpt = False,
    input_tokens: Annotated[Optional[int], typer.Option(
        "--input-tokens", metavar="N", help="Price this many input tokens instead of counting "
        "text.", min=0, rich_help_panel=INPUT)] = None,
    output_tokens: Annotated[int, typer.Option(
        "--output-tokens", metavar="N", help="Output tokens to add to the estimate.", min=0,
        rich_help_panel=INPUT)] = 0,
    model: ModelOpt = None,
    compare: Annotated[Optional[list[str]], typer.Option(
        "--compare", metavar="MODEL", help="Also price for this model (repeatable); cheapest "
        "first.", autocompletion=completion.complete_model, show_default=False,
        rich_help_panel=CONN)] = None,
    refresh: RefreshOpt = False,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    json_out: Annotated[bool, typer.Option(
        "--json", help="One JSON object per model, one per line.", rich_help_panel=OUT)] = False,
    no_color: NoColorOpt = False,
    debug: DebugOpt = False,
) -> int:
    from orcli.commands.price import PriceOptions, run_price

    opts = PriceOptions(
        words=text or (), files=file or (), messages_path=messages, system=system,
        no_stdin=no_stdin, input_tokens=input_tokens, output_tokens=output_tokens,
        compare=compare or (), json_out=json_out, refresh=refresh,
        settings_flags=settings_flags(model, base_url, timeout, retries), debug=debug,
    )
    return run_price(opts, ctx.obj.without_color(no_color))
