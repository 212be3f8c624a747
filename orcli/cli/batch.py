"""`orcli batch`: its flags, turned into BatchOptions; the work is in orcli.commands.batch."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from orcli.cli.answer import BODY_FLAGS, body_options, option_flag
from orcli.cli.flags import (
    COMMON,
    CONNECTION,
    LEDGER_FLAGS,
    Param,
    SystemOpt,
    common_options,
    ledger_options,
    parse_usd,
    typer_function,
)
from orcli.cli.helptext import GUARD, INPUT, OUT, GroupedCommand
from orcli.cli.routing import ROUTING_FLAGS, routing_options

BATCH_EPILOG = """\b
Examples:
  orcli batch prompts.jsonl -o answers.jsonl           # rerun it to resume
  jq -c '{id, prompt: .text}' tickets.jsonl | orcli batch -j 16 --max-tokens 200
  orcli batch rows.jsonl --max-cost 5 --max-tokens 500 -o out.jsonl
  orcli batch rows.jsonl --shard 2/4 -o part2.jsonl    # one of 4 CI jobs

\b
An input line is a JSON string (the prompt), an object with prompt and/or
messages (and id, system, model, any body field), or an OpenAI batch line.
Each output line: {"id", "line", "model", "text", "finish_reason", "usage",
"generation_id", "error": null}, or {"id", "line", "error": {"exit_code",
"http_status", "message"}}. Exit 0 all done, 3 or 5 stopped (key, credits),
8 rows left for the budget, 9 some rows failed, 130 interrupted.
"""


InputArg = Annotated[Optional[str], typer.Argument(
    metavar="[INPUT]", help="JSONL file of rows; stdin when missing or '-'.", show_default=False)]
OutputOpt = Annotated[Optional[str], typer.Option(
    "-o", "--output", metavar="FILE", help="Append the output lines here; rows already done "
    "in FILE are not sent again.", rich_help_panel=OUT)]
OrderedOpt = Annotated[bool, typer.Option(
    "--ordered", help="Write lines in input order, not as rows finish.", rich_help_panel=OUT)]
ConcurrencyOpt = Annotated[int, typer.Option(
    "-j", "--concurrency", metavar="N", min=1, max=256, help="Requests in flight at most "
    "(halved for a while after a 429).", rich_help_panel=INPUT)]
ShardOpt = Annotated[Optional[str], typer.Option(
    "--shard", metavar="K/N", help="Only rows on lines K, K+N, K+2N, ... (CI job K of N).",
    rich_help_panel=INPUT)]
MaxCostOpt = Annotated[Optional[str], typer.Option(
    "--max-cost", metavar="USD", help="Budget for the whole run: a row starts only when its "
    "worst case still fits (needs --max-tokens).", rich_help_panel=GUARD)]
DryRunOpt = Annotated[bool, typer.Option(
    "--dry-run", help="Print each body that would be sent, and the worst-case total on "
    "stderr; send nothing.", rich_help_panel=GUARD)]

PARAMS = [Param("input_path", InputArg), Param("output", OutputOpt),
          Param("ordered", OrderedOpt, False), Param("concurrency", ConcurrencyOpt, 8),
          Param("shard", ShardOpt), Param("system", SystemOpt), *CONNECTION, *BODY_FLAGS,
          option_flag(("--option",)), *ROUTING_FLAGS, Param("max_cost", MaxCostOpt),
          Param("dry_run", DryRunOpt, False), *LEDGER_FLAGS, *COMMON]


def run(ctx: typer.Context, values: dict[str, Any]) -> int:
    from orcli.commands.batch import BatchOptions, run_batch
    from orcli.request.batch_rows import parse_shard

    shard = values["shard"]
    opts = BatchOptions(
        **common_options(values), **ledger_options(values), input_path=values["input_path"],
        output=values["output"],
        ordered=values["ordered"], concurrency=values["concurrency"],
        max_cost=parse_usd(values["max_cost"], "--max-cost"),
        shard=parse_shard(shard) if shard is not None else None, dry_run=values["dry_run"],
        system=values["system"], body=body_options(values), routing=routing_options(values))
    return run_batch(opts, ctx.obj.without_color(opts.no_color))


def register(app: typer.Typer) -> None:
    app.command("batch", cls=GroupedCommand, epilog=BATCH_EPILOG,
                short_help="Send many prompts from JSONL, concurrently; resumable.",
                help="Send every row of a JSONL file (or stdin) as a request, concurrently, "
                "and write one JSON line per row; -o FILE resumes where a run stopped.")(
        typer_function(PARAMS, run))
