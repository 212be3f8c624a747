"""The Typer functions of `orcli spend`, `orcli key` and `orcli generation`.

`register(app)` adds them to the app; argv becomes Options here
and nothing else happens.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from orcli.cli.flags import (
    BaseUrlOpt,
    DebugOpt,
    NoColorOpt,
    RetriesOpt,
    TimeoutOpt,
    connection_flags,
    parse_usd,
)
from orcli.cli.helptext import FILTER, OUT, GroupedCommand

SPEND_EPILOG = """\b
Examples:
  orcli spend --since 7d --by model
  orcli spend --since 2026-01-01 --until 2026-01-31 --by day --json | jq .cost
  orcli spend --tag ci=true --by tag:job --markdown >> "$GITHUB_STEP_SUMMARY"
  orcli spend --export --since 1d > ledger-$RUNNER_NAME.jsonl
  orcli spend --import ledgers/*.jsonl && orcli spend --by tag:job
  orcli spend --reconcile

\b
Piped output: one group per line, tab-separated, no header and no total:
  group  calls  prompt_tokens  completion_tokens  cost_usd  estimated_calls
WHEN: 30m, 12h, 7d, or an ISO date or time (UTC unless it says);
a bare --until date includes that whole day.
"""

KEY_EPILOG = """\b
Examples:
  orcli key
  orcli key --json | jq .limit_remaining
  orcli key --min-remaining 5 > /dev/null || echo 'top up the key'
"""

GENERATION_EPILOG = """\b
Examples:
  orcli generation gen-1764118800-AbCdEfGhIjKlMnOpQrSt
  orcli chat --json hi | jq -r .id | xargs orcli generation --json | jq .total_cost

Stats appear a few seconds after the answer; a 404 is asked again for 10 s.
"""

def spend_command(
    ctx: typer.Context,
    files: Annotated[Optional[list[str]], typer.Argument(
        metavar="[FILE]...", help="With --import: exported files to merge (- reads stdin).",
        show_default=False)] = None,
    since: Annotated[Optional[str], typer.Option(
        "--since", metavar="WHEN", help="Only records from WHEN on.",
        rich_help_panel=FILTER)] = None,
    until: Annotated[Optional[str], typer.Option(
        "--until", metavar="WHEN", help="Only records before WHEN.",
        rich_help_panel=FILTER)] = None,
    tag: Annotated[Optional[list[str]], typer.Option(
        "--tag", metavar="KEY=VALUE", help="Only records with this tag (repeatable).",
        show_default=False, rich_help_panel=FILTER)] = None,
    by: Annotated[Optional[str], typer.Option(
        "--by", metavar="GROUP", help="Group by model, provider, day, command or tag:KEY.",
        rich_help_panel=OUT)] = None,
    json_out: Annotated[bool, typer.Option(
        "--json", help="One JSON object per group, one per line.",
        rich_help_panel=OUT)] = False,
    markdown: Annotated[bool, typer.Option(
        "--markdown", help="A Markdown table with a total (for $GITHUB_STEP_SUMMARY).",
        rich_help_panel=OUT)] = False,
    export: Annotated[bool, typer.Option(
        "--export", help="Write the records as JSON lines (filters apply).",
        rich_help_panel=OUT)] = False,
    do_import: Annotated[bool, typer.Option(
        "--import", help="Merge the FILEs written by --export; a record already present is "
        "not added twice.")] = False,
    reconcile: Annotated[bool, typer.Option(
        "--reconcile", help="Fetch the billed cost (GET /generation) of every record whose "
        "cost is not billed.")] = False,
    no_color: NoColorOpt = False,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    debug: DebugOpt = False,
) -> int:
    from orcli.commands.spend import SpendOptions, run_spend

    opts = SpendOptions(
        since=since, until=until, by=by, tags=tag or (), json_out=json_out, markdown=markdown,
        export=export, import_files=files or (), do_import=do_import, reconcile=reconcile,
        settings_flags=connection_flags(base_url, timeout, retries), debug=debug,
    )
    return run_spend(opts, ctx.obj.without_color(no_color))


def key_command(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option(
        "--json", help="The API's data object.", rich_help_panel=OUT)] = False,
    min_remaining: Annotated[Optional[str], typer.Option(
        "--min-remaining", metavar="USD", help="Exit 5 when less than this is left of the "
        "key's limit.")] = None,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    no_color: NoColorOpt = False,
    debug: DebugOpt = False,
) -> int:
    from orcli.commands.account import KeyOptions, run_key

    opts = KeyOptions(json_out=json_out, min_remaining=parse_usd(min_remaining,
                                                                 "--min-remaining"),
                      settings_flags=connection_flags(base_url, timeout, retries), debug=debug)
    return run_key(opts, ctx.obj.without_color(no_color))


def generation_command(
    ctx: typer.Context,
    generation_id: Annotated[str, typer.Argument(
        metavar="ID", show_default=False,
        help="A generation id (gen-...), as chat --json and the ledger give.")],
    json_out: Annotated[bool, typer.Option(
        "--json", help="The API's data object.", rich_help_panel=OUT)] = False,
    no_ledger: Annotated[bool, typer.Option(
        "--no-ledger", help="Do not store the billed cost in the ledger.")] = False,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = None,
    retries: RetriesOpt = None,
    no_color: NoColorOpt = False,
    debug: DebugOpt = False,
) -> int:
    from orcli.commands.account import GenerationOptions, run_generation

    opts = GenerationOptions(generation_id=generation_id, json_out=json_out,
                             no_ledger=no_ledger,
                             settings_flags=connection_flags(base_url, timeout, retries),
                             debug=debug)
    return run_generation(opts, ctx.obj.without_color(no_color))


def register(app: typer.Typer) -> None:
    """Add spend, key and generation to the app."""
    app.command("spend", cls=GroupedCommand, epilog=SPEND_EPILOG,
                short_help="What the ledger says was spent; export, import, reconcile.",
                help="Calls, tokens and cost from the local ledger of every answered "
                "request, grouped and filtered.")(spend_command)
    app.command("key", cls=GroupedCommand, epilog=KEY_EPILOG,
                short_help="The API key's limit, usage and rate limit.",
                help="The API key's state from GET /key: label, limit and remaining, usage "
                "per period, free tier, rate limit.")(key_command)
    app.command("generation", cls=GroupedCommand, epilog=GENERATION_EPILOG,
                short_help="One generation's stats and billed cost.",
                help="One generation's stats from GET /generation (model, provider, native "
                "tokens, cost, latency); its ledger record takes the billed cost.")(
        generation_command)
