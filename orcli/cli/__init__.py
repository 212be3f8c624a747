"""The Typer app: the root command, and each command's module registering itself.

No logic lives here: `orcli.cli.<command>` turns argv into that command's
Options, and `orcli.commands.<command>` does the work.
"""

from typing import Annotated

import typer

from orcli import __version__
from orcli.cli import batch, chat, ledger, models, price, shells, stream
from orcli.cli.helptext import ROOT_EPILOG

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


for _module in (chat, stream, models, price, batch, ledger, shells):
    _module.register(app)
