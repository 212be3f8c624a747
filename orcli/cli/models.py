"""`orcli models`: argv to ModelsOptions (`models show ID` included)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

import orcli.cli.completion as completion
from orcli.cli.flags import (
    BaseUrlOpt,
    DebugOpt,
    NoColorOpt,
    RefreshOpt,
    RetriesOpt,
    TimeoutOpt,
    connection_flags,
    parse_usd,
)
from orcli.cli.helptext import FILTER, MODELS_EPILOG, OUT, GroupedCommand
from orcli.errors import UsageError


def command(
    ctx: typer.Context,
    search: Annotated[Optional[list[str]], typer.Argument(
        metavar="[SEARCH]...", autocompletion=completion.complete_models_words,
        help="Text to find in model ids and names; or `show ID` for one model's details; or "
        "`endpoints ID` for the providers serving it.",
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
    sort: Annotated[Optional[str], typer.Option(
        "--sort", metavar="KEY", help="id, price, context or created [default: id]; for "
        "`endpoints ID`: price, latency or throughput [default: as the API lists them].",
        autocompletion=completion.complete_sort, rich_help_panel=OUT)] = None,
    reverse: Annotated[bool, typer.Option(
        "--reverse", help="Reverse the order.", rich_help_panel=OUT)] = False,
    limit: Annotated[Optional[int], typer.Option(
        "--limit", metavar="N", help="Show at most N models.", min=0,
        rich_help_panel=OUT)] = None,
    json_out: Annotated[bool, typer.Option(
        "--json", help="The API's model (or endpoint) objects as a JSON array.",
        rich_help_panel=OUT)] = False,
    no_color: NoColorOpt = False,
    refresh: RefreshOpt = False,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    debug: DebugOpt = False,
) -> int:
    from orcli.commands.models import run_models
    from orcli.options import ModelsOptions

    words = list(search or [])
    show_id = None
    connection = connection_flags(base_url, timeout, retries)
    if words[:1] == ["endpoints"]:
        if len(words) != 2:
            raise UsageError("usage: orcli models endpoints MODEL_ID")
        from orcli.commands.endpoints import run_endpoints
        from orcli.options import EndpointsOptions

        return run_endpoints(EndpointsOptions(
            model_id=words[1], sort=sort, json_out=json_out, refresh=refresh,
            settings_flags=connection, debug=debug), ctx.obj.without_color(no_color))
    if words[:1] == ["show"]:
        if len(words) != 2:
            raise UsageError("usage: orcli models show MODEL_ID")
        show_id, words = words[1], []
    opts = ModelsOptions(
        search=" ".join(words) or None, show_id=show_id,
        max_price=parse_usd(max_price, "--max-price"), min_context=min_context,
        supports=supports or (), free=free, modality=modality, sort=sort or "id",
        reverse=reverse, limit=limit, json_out=json_out, refresh=refresh,
        settings_flags=connection, debug=debug,
    )
    return run_models(opts, ctx.obj.without_color(no_color))


def register(app: typer.Typer) -> None:
    app.command("models", cls=GroupedCommand, epilog=MODELS_EPILOG,
                short_help="List and search the model catalog; `models show|endpoints ID`.",
                help="List OpenRouter's models (cached for an hour); `models show ID` for "
                "one; `models endpoints ID` for the providers serving one.")(command)
