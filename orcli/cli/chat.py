"""`orcli chat`: argv to ChatOptions."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from orcli.cli.answer import answer_options, answer_params
from orcli.cli.flags import Param, typer_function
from orcli.cli.helptext import CHAT_EPILOG, OUT, GroupedCommand

JsonOpt = Annotated[bool, typer.Option(
    "--json", help="Print the API's response JSON.", rich_help_panel=OUT)]
PlainOpt = Annotated[bool, typer.Option(
    "--plain", help="Print the answer as is, not rendered as Markdown on a terminal.",
    rich_help_panel=OUT)]


def run(ctx: typer.Context, values: dict[str, Any]) -> int:
    from orcli.commands.chat import run_chat
    from orcli.options import ChatOptions

    opts = ChatOptions(**answer_options(values), json_out=values["json_out"],
                       plain=values["plain"])
    return run_chat(opts, ctx.obj.without_color(opts.no_color))


def register(app: typer.Typer) -> None:
    app.command("chat", cls=GroupedCommand, epilog=CHAT_EPILOG,
                short_help="Send a prompt; print the whole answer.",
                help="Send a prompt and print the whole answer; usage and cost on stderr.")(
        typer_function(answer_params(Param("json_out", JsonOpt, False),
                                     Param("plain", PlainOpt, False)), run))
