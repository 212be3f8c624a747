"""`orcli stream`: argv to StreamOptions."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from orcli.cli.answer import answer_options, answer_params
from orcli.cli.flags import Param, typer_function
from orcli.cli.helptext import OUT, STREAM_EPILOG, GroupedCommand

JsonlOpt = Annotated[bool, typer.Option(
    "--jsonl", help="One JSON event per line.", rich_help_panel=OUT)]


def run(ctx: typer.Context, values: dict[str, Any]) -> int:
    from orcli.commands.stream import run_stream
    from orcli.options import StreamOptions

    opts = StreamOptions(**answer_options(values), jsonl=values["jsonl"])
    return run_stream(opts, ctx.obj.without_color(opts.no_color))


def register(app: typer.Typer) -> None:
    app.command("stream", cls=GroupedCommand, epilog=STREAM_EPILOG,
                short_help="Send a prompt; print the answer as it arrives.",
                help="Send a prompt and print the answer as it arrives, flushed piece by "
                "piece.")(typer_function(answer_params(Param("jsonl", JsonlOpt, False)), run))
