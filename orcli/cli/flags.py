"""The flags several commands share, and the few conversions every command needs.

A `Param` is one Typer parameter declared once; `typer_function` turns a list of
them into the function Typer reads, so chat, stream and batch list the same
flags without repeating their declarations (and each --help shows only its own).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Annotated, Any, NamedTuple, Optional

import typer

from orcli.cli.completion import complete_model
from orcli.cli.helptext import CONN, GUARD, INPUT, OUT
from orcli.errors import UsageError


class Param(NamedTuple):
    """One command-line parameter: its Python name, Annotated type and default."""

    name: str
    annotation: Any
    default: Any = None


def typer_function(params: Sequence[Param],
                   run: Callable[[typer.Context, dict[str, Any]], int]) -> Callable[..., int]:
    """A function whose signature declares `params`; Typer calls it with their values."""

    def command(ctx: typer.Context, **values: Any) -> int:
        return run(ctx, values)

    context = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                annotation=typer.Context)
    command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [context] + [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY,
                                       annotation=p.annotation, default=p.default)
                     for p in params], return_annotation=int)
    return command


ModelOpt = Annotated[Optional[str], typer.Option(
    "-m", "--model", metavar="MODEL", autocompletion=complete_model,
    help="Model id [env ORCLI_MODEL; default mistralai/devstral-2512].", rich_help_panel=CONN)]
BaseUrlOpt = Annotated[Optional[str], typer.Option(
    "--base-url", metavar="URL", help="API base URL [env OPENROUTER_BASE_URL].",
    rich_help_panel=CONN)]
TimeoutOpt = Annotated[Optional[float], typer.Option(
    "--timeout", metavar="SECONDS", help="Most seconds an attempt may go without progress "
    "[env ORCLI_TIMEOUT; 600].", rich_help_panel=CONN)]
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
    "-f", "--file", metavar="PATH", help="Append this file's text (repeatable; '-' reads "
    "stdin there).", show_default=False, rich_help_panel=INPUT)]
MessagesOpt = Annotated[Optional[str], typer.Option(
    "--messages", metavar="PATH", help="JSON array of {role, content} messages, used instead "
    "of PROMPT and stdin ('-' reads it from stdin).", rich_help_panel=INPUT)]
SystemOpt = Annotated[Optional[str], typer.Option(
    "-s", "--system", metavar="TEXT", help="System message, sent first.",
    rich_help_panel=INPUT)]
NoStdinOpt = Annotated[bool, typer.Option(
    "--no-stdin", help="Never read stdin, even when it is piped.", rich_help_panel=INPUT)]

TagOpt = Annotated[Optional[list[str]], typer.Option(
    "--tag", metavar="KEY=VALUE", help="Tag this call's ledger record (repeatable) "
    "[env ORCLI_TAGS=k=v,k2=v2].", show_default=False, rich_help_panel=GUARD)]
NoLedgerOpt = Annotated[bool, typer.Option(
    "--no-ledger", help="Record nothing in the local ledger (as ORCLI_LEDGER=off).",
    rich_help_panel=GUARD)]

CONNECTION = [Param("model", ModelOpt), Param("base_url", BaseUrlOpt),
              Param("timeout", TimeoutOpt), Param("retries", RetriesOpt)]
INPUTS = [Param("file", FilesOpt), Param("messages", MessagesOpt), Param("system", SystemOpt),
          Param("no_stdin", NoStdinOpt, False)]
COMMON = [Param("no_color", NoColorOpt, False), Param("debug", DebugOpt, False)]
LEDGER_FLAGS = [Param("tag", TagOpt), Param("no_ledger", NoLedgerOpt, False)]


def ledger_options(values: dict[str, Any]) -> dict[str, Any]:
    """The tags and --no-ledger, from the values of LEDGER_FLAGS."""
    return {"tags": tuple(values["tag"] or ()), "no_ledger": values["no_ledger"]}


def connection_flags(base_url: str | None, timeout: float | None, retries: int | None,
                     model: str | None = None) -> dict[str, object]:
    """The setting flags of a command that declares them one by one."""
    return settings_flags({"model": model, "base_url": base_url, "timeout": timeout,
                           "retries": retries})


def settings_flags(values: dict[str, Any]) -> dict[str, object]:
    """The flags that override environment and config file."""
    return {name: values.get(name) for name in ("model", "base_url", "timeout", "retries")}


def common_options(values: dict[str, Any]) -> dict[str, Any]:
    """The CommandOptions fields, from the values of CONNECTION and COMMON."""
    return {"settings_flags": settings_flags(values), "debug": values["debug"],
            "no_color": values["no_color"]}


def input_options(values: dict[str, Any], words: Sequence[str] | None) -> dict[str, Any]:
    """The InputOptions fields, from the values of INPUTS plus the prompt words."""
    return common_options(values) | {
        "words": tuple(words or ()), "files": tuple(values["file"] or ()),
        "messages_path": values["messages"], "system": values["system"],
        "no_stdin": values["no_stdin"]}


def parse_usd(value: str | None, flag: str) -> Decimal | None:
    """A dollar amount as Decimal (never float), or exit 2."""
    from decimal import InvalidOperation

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
