"""The Typer app: declares commands and flags, builds Options, calls the command.

No logic lives here; each command's work is in `orcli.commands.*`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Optional

import typer

from orcli import __version__
from orcli.errors import UsageError
from orcli.payload import BodyOptions

app = typer.Typer(
    name="orcli",
    help="A command-line client for the OpenRouter API, made for shell pipelines and CI.",
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

CONN = "Connection"
BODY = "Request body"
OUT = "Output"
GUARD = "Guards"


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
    "-m", "--model", help="Model id [env ORCLI_MODEL; default mistralai/devstral-2512].",
    rich_help_panel=CONN)]
BaseUrlOpt = Annotated[Optional[str], typer.Option(
    "--base-url", help="API base URL [env OPENROUTER_BASE_URL].", rich_help_panel=CONN)]
TimeoutOpt = Annotated[Optional[float], typer.Option(
    "--timeout", help="Deadline per attempt, seconds [env ORCLI_TIMEOUT; 600].",
    rich_help_panel=CONN)]
RetriesOpt = Annotated[Optional[int], typer.Option(
    "--retries", help="Extra attempts on 429/5xx/network errors [env ORCLI_RETRIES; 2].",
    rich_help_panel=CONN)]
DebugOpt = Annotated[bool, typer.Option(
    "--debug", help="Show tracebacks and request details on stderr (key redacted).")]


def settings_flags(model: str | None, base_url: str | None = None, timeout: float | None = None,
                   retries: int | None = None) -> dict[str, object]:
    """The flags that override environment and config file."""
    return {"model": model, "base_url": base_url, "timeout": timeout, "retries": retries}


def parse_usd(value: str | None, flag: str) -> Decimal | None:
    """A dollar amount as Decimal (never float), or exit 2."""
    if value is None:
        return None
    try:
        amount = Decimal(value.lstrip("$"))
    except InvalidOperation:
        raise UsageError(f"{flag} expects a dollar amount like 0.05, not {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise UsageError(f"{flag} must be a positive dollar amount, not {value!r}")
    return amount


@app.command("chat", epilog="Examples: git diff | orcli chat 'write the commit message'  |  "
             "orcli chat --dry-run --max-cost 0.01 -f big.txt 'summarize'")
@app.command("stream", epilog="Examples: orcli stream 'tell a story' | tee story.txt  |  "
             "orcli stream --jsonl 'hi' | jq -c 'select(.type==\"usage\")'")
def chat_command(
    ctx: typer.Context,
    prompt: Annotated[Optional[list[str]], typer.Argument(
        help="Prompt words, joined by spaces; piped stdin is appended after a blank line.",
        show_default=False)] = None,
    file: Annotated[Optional[list[str]], typer.Option(
        "-f", "--file", help="Append this file's text (repeatable).", show_default=False)] = None,
    messages: Annotated[Optional[str], typer.Option(
        "--messages", help="JSON array of {role, content} messages ('-' for stdin).")] = None,
    system: Annotated[Optional[str], typer.Option(
        "-s", "--system", help="System message, sent first.")] = None,
    no_stdin: Annotated[bool, typer.Option("--no-stdin", help="Never read stdin.")] = False,
    model: ModelOpt = None,
    temperature: Annotated[Optional[float], typer.Option(
        "-t", "--temperature", help="Sampling temperature, 0 to 2.", rich_help_panel=BODY)] = None,
    top_p: Annotated[Optional[float], typer.Option(
        "--top-p", help="Nucleus sampling, 0 to 1.", rich_help_panel=BODY)] = None,
    max_tokens: Annotated[Optional[int], typer.Option(
        "--max-tokens", help="Most tokens to generate.", rich_help_panel=BODY)] = None,
    stop: Annotated[Optional[list[str]], typer.Option(
        "--stop", help="Stop sequence (repeatable).", rich_help_panel=BODY,
        show_default=False)] = None,
    seed: Annotated[Optional[int], typer.Option(
        "--seed", help="Seed for sampling.", rich_help_panel=BODY)] = None,
    frequency_penalty: Annotated[Optional[float], typer.Option(
        "--frequency-penalty", help="-2 to 2.", rich_help_panel=BODY)] = None,
    presence_penalty: Annotated[Optional[float], typer.Option(
        "--presence-penalty", help="-2 to 2.", rich_help_panel=BODY)] = None,
    option: Annotated[Optional[list[str]], typer.Option(
        "-o", "--option", help="Any other body field, KEY=VALUE (VALUE parsed as JSON if it "
        "can be), e.g. -o top_k=40 (repeatable).", rich_help_panel=BODY,
        show_default=False)] = None,
    schema: Annotated[Optional[str], typer.Option(
        "--schema", help="Structured output: a JSON Schema, inline or a file path.",
        rich_help_panel=BODY)] = None,
    json_object: Annotated[bool, typer.Option(
        "--json-object", help="Ask for a JSON object answer.", rich_help_panel=BODY)] = False,
    tools: Annotated[Optional[str], typer.Option(
        "--tools", help="File with a JSON array of tool definitions.",
        rich_help_panel=BODY)] = None,
    tool_choice: Annotated[Optional[str], typer.Option(
        "--tool-choice", help="auto, none, required, a function name, or JSON.",
        rich_help_panel=BODY)] = None,
    json_out: Annotated[bool, typer.Option(
        "--json", help="chat: print the API's response JSON.", rich_help_panel=OUT)] = False,
    jsonl: Annotated[bool, typer.Option(
        "--jsonl", help="stream: one JSON event per line.", rich_help_panel=OUT)] = False,
    usage: Annotated[Optional[bool], typer.Option(
        "--usage/--no-usage", help="Usage and cost line on stderr [default: on a terminal].",
        rich_help_panel=OUT, show_default=False)] = None,
    show_reasoning: Annotated[bool, typer.Option(
        "--show-reasoning", help="Write the model's reasoning to stderr.",
        rich_help_panel=OUT)] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the JSON body that would be sent and exit; no key, no network.",
        rich_help_panel=OUT)] = False,
    max_cost: Annotated[Optional[str], typer.Option(
        "--max-cost", help="Refuse (exit 8) if the worst case could cost more USD than this.",
        rich_help_panel=GUARD)] = None,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    debug: DebugOpt = False,
) -> int:
    """Send a prompt; print the answer (chat: whole; stream: as it arrives)."""
    from orcli.commands.chat import ChatOptions, run_chat

    is_stream = ctx.info_name == "stream"
    if json_out and is_stream:
        raise UsageError("--json is for orcli chat; orcli stream has --jsonl")
    if jsonl and not is_stream:
        raise UsageError("--jsonl is for orcli stream; orcli chat has --json")
    body = BodyOptions(
        temperature=temperature, top_p=top_p, max_tokens=max_tokens, stop=stop or (),
        seed=seed, frequency_penalty=frequency_penalty, presence_penalty=presence_penalty,
        options=option or (), schema=schema, json_object=json_object, tools=tools,
        tool_choice=tool_choice,
    )
    opts = ChatOptions(
        words=prompt or (), files=file or (), messages_path=messages, system=system,
        no_stdin=no_stdin, body=body, stream=is_stream, json_out=json_out, jsonl=jsonl,
        dry_run=dry_run, usage=usage, show_reasoning=show_reasoning,
        max_cost=parse_usd(max_cost, "--max-cost"),
        settings_flags=settings_flags(model, base_url, timeout, retries), debug=debug,
    )
    return run_chat(opts, ctx.obj)


@app.command("models", epilog="Examples: orcli models mistral --sort price  |  "
             "orcli models --supports tools --max-price 1 | cut -f1  |  "
             "orcli models show mistralai/devstral-2512")
def models_command(
    ctx: typer.Context,
    search: Annotated[Optional[list[str]], typer.Argument(
        help="Text to find in model ids and names; or `show ID` for one model's details.",
        show_default=False)] = None,
    max_price: Annotated[Optional[str], typer.Option(
        "--max-price", help="Most USD per 1M input tokens.")] = None,
    min_context: Annotated[Optional[int], typer.Option(
        "--min-context", help="Least context length, tokens.", min=0)] = None,
    supports: Annotated[Optional[list[str]], typer.Option(
        "--supports", help="Supported parameter, e.g. tools (repeatable).",
        show_default=False)] = None,
    free: Annotated[bool, typer.Option("--free", help="Only models that cost nothing.")] = False,
    modality: Annotated[Optional[str], typer.Option(
        "--modality", help="Input modality, e.g. image.")] = None,
    sort: Annotated[str, typer.Option(
        "--sort", help="id, price, context or created.")] = "id",
    reverse: Annotated[bool, typer.Option("--reverse", help="Reverse the order.")] = False,
    limit: Annotated[Optional[int], typer.Option(
        "--limit", help="Show at most N models.", min=0)] = None,
    json_out: Annotated[bool, typer.Option(
        "--json", help="The API's model objects as a JSON array.")] = False,
    refresh: Annotated[bool, typer.Option(
        "--refresh", help="Fetch the catalog again, ignoring the cache.")] = False,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    debug: DebugOpt = False,
) -> int:
    """List OpenRouter's models (cached for an hour); `models show ID` for one."""
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
    return run_models(opts, ctx.obj)


@app.command("price", epilog="Examples: git diff | orcli price 'review this'  |  "
             "orcli price -f book.txt --output-tokens 2000 --compare openai/gpt-4o  |  "
             "orcli price --input-tokens 1000000 --json")
def price_command(
    ctx: typer.Context,
    text: Annotated[Optional[list[str]], typer.Argument(
        help="Prompt words; piped stdin and -f files are added as for chat.",
        show_default=False)] = None,
    file: Annotated[Optional[list[str]], typer.Option(
        "-f", "--file", help="Add this file's text (repeatable).", show_default=False)] = None,
    messages: Annotated[Optional[str], typer.Option(
        "--messages", help="JSON array of {role, content} messages ('-' for stdin).")] = None,
    system: Annotated[Optional[str], typer.Option(
        "-s", "--system", help="System message.")] = None,
    no_stdin: Annotated[bool, typer.Option("--no-stdin", help="Never read stdin.")] = False,
    input_tokens: Annotated[Optional[int], typer.Option(
        "--input-tokens", help="Price this many input tokens instead of counting text.",
        min=0)] = None,
    output_tokens: Annotated[int, typer.Option(
        "--output-tokens", help="Output tokens to add to the estimate.", min=0)] = 0,
    model: ModelOpt = None,
    compare: Annotated[Optional[list[str]], typer.Option(
        "--compare", help="Also price for this model (repeatable); cheapest first.",
        show_default=False)] = None,
    json_out: Annotated[bool, typer.Option(
        "--json", help="One JSON object per model, one per line.")] = False,
    refresh: Annotated[bool, typer.Option(
        "--refresh", help="Fetch the catalog again, ignoring the cache.")] = False,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    debug: DebugOpt = False,
) -> int:
    """Say what a prompt would cost, before sending it (exact tokens for Mistral models)."""
    from orcli.commands.price import PriceOptions, run_price

    opts = PriceOptions(
        words=text or (), files=file or (), messages_path=messages, system=system,
        no_stdin=no_stdin, input_tokens=input_tokens, output_tokens=output_tokens,
        compare=compare or (), json_out=json_out, refresh=refresh,
        settings_flags=settings_flags(model, base_url, timeout, retries), debug=debug,
    )
    return run_price(opts, ctx.obj)
