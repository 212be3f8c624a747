"""`orcli price`: argv to PriceOptions."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

import orcli.cli.completion as completion
from orcli.cli.flags import (
    BaseUrlOpt,
    DebugOpt,
    FilesOpt,
    MessagesOpt,
    ModelOpt,
    NoColorOpt,
    NoStdinOpt,
    RefreshOpt,
    RetriesOpt,
    SystemOpt,
    TimeoutOpt,
    connection_flags,
)
from orcli.cli.helptext import CONN, INPUT, OUT, PRICE_EPILOG, GroupedCommand


def command(
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
    from orcli.commands.price import run_price
    from orcli.options import PriceOptions

    opts = PriceOptions(
        words=text or (), files=file or (), messages_path=messages, system=system,
        no_stdin=no_stdin, input_tokens=input_tokens, output_tokens=output_tokens,
        compare=compare or (), json_out=json_out, refresh=refresh,
        settings_flags=connection_flags(base_url, timeout, retries, model), debug=debug,
    )
    return run_price(opts, ctx.obj.without_color(no_color))


def register(app: typer.Typer) -> None:
    app.command("price", cls=GroupedCommand, epilog=PRICE_EPILOG,
             short_help="Estimate what a prompt would cost, without sending it.",
             help="Say what a prompt would cost before sending it (exact token counts for "
             "Mistral's Tekken models, labelled estimates otherwise).")(command)
