"""`orcli spend`: what the ledger says was spent, grouped; export, import, reconcile.

Piped output is one tab-separated line per group, no header and no total:
`group  calls  prompt_tokens  completion_tokens  cost  estimated_calls`, the
cost as a plain decimal (`unknown` when no record of the group has a known cost,
never 0). `--json` gives the same as one object per line (`"cost": null` then),
`--markdown` a table with a total for $GITHUB_STEP_SUMMARY.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from orcli.errors import ApiError, ConfigError, ExitStatus, UsageError
from orcli.models.pricing import UNKNOWN, dumps_json, format_decimal, format_usd
from orcli.options import CommandOptions
from orcli.render.iostreams import Streams
from orcli.render.text import safe_line
from orcli.store.config import Settings, load_settings
from orcli.store.ledger import Ledger, open_ledger
from orcli.store.ledger_record import TIME_FORMAT, LedgerRecord, RecordError, record_from_json
from orcli.store.ledger_report import (
    SpendFilter,
    SpendGroup,
    parse_grouping,
    parse_tags,
    parse_when,
    spend_groups,
    total_of,
)

_EXPORT_BATCH = 1000  # records per write: one write per line would be 100,000 syscalls


class SpendOptions(CommandOptions, frozen=True):
    since: str | None = None
    until: str | None = None
    by: str | None = None
    tags: Sequence[str] = ()
    json_out: bool = False
    markdown: bool = False
    export: bool = False
    import_files: Sequence[str] = ()
    do_import: bool = False
    reconcile: bool = False
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def run_spend(opts: SpendOptions, streams: Streams) -> int:
    """Report, export, import or reconcile, as the flags say."""
    check_flags(opts)
    by = parse_grouping(opts.by)
    now = opts.now()
    where = SpendFilter(
        since=parse_when(opts.since, "--since", now) if opts.since else None,
        until=parse_when(opts.until, "--until", now, end_of_day=True) if opts.until else None,
        tags=parse_tags(opts.tags, {}),
    )
    settings = load_settings(opts.settings_flags, streams.env, streams.err)
    ledger = open_ledger(streams.env, settings.ledger, streams.err)
    if ledger is None:
        raise ConfigError("the ledger is off (ORCLI_LEDGER=off or ledger = false in the "
                          "config file): there is nothing to report")
    try:
        if opts.do_import:
            import_files(ledger, opts.import_files, streams)
        elif opts.export:
            export_records(ledger, where, streams)
        elif opts.reconcile:
            reconcile(ledger, settings, opts, streams)
        else:
            groups = spend_groups(ledger, by, where)
            write_report(groups, by, opts, streams)
            if by == "model":
                note_count_errors(ledger, [g.group for g in groups], streams)
    finally:
        ledger.close()
    return ExitStatus.OK


# Fewer calls than this say too little about how far an estimate is off.
_FEW_CALLS = 3


def note_count_errors(ledger: Ledger, models: Sequence[str], streams: Streams) -> None:
    """How far orcli's pre-flight estimates were from the billed prompt_tokens, per model.

    On stderr, so the report's own lines stay as they are; only models counted by
    estimate with enough billed calls (exact counts have nothing to show).
    """
    from statistics import median

    from orcli.commands.ledgering import calibration_pairs, ledger_calibration

    for model in models:
        pairs = calibration_pairs(ledger, model)[:20]
        if len(pairs) < _FEW_CALLS:
            continue
        error = median(abs(billed / counted - 1) for counted, billed in pairs)
        calibrated = ledger_calibration(ledger, model)
        after = "" if calibrated is None else median(
            abs(billed / (counted * float(calibrated.ratio)) - 1) for counted, billed in pairs)
        streams.err(f"orcli: {model}: estimated prompt tokens were {error:.0%} off the billed "
                    f"count (median of {len(pairs)} calls)"
                    + (f"; {after:.0%} once calibrated" if after != "" else ""))


def check_flags(opts: SpendOptions) -> None:
    """Flags that cannot go together, and FILE arguments without --import: exit 2."""
    actions = [name for name, on in (("--export", opts.export), ("--import", opts.do_import),
                                     ("--reconcile", opts.reconcile)) if on]
    if len(actions) > 1:
        raise UsageError(f"{actions[0]} and {actions[1]} cannot go together")
    if opts.json_out and opts.markdown:
        raise UsageError("--json and --markdown cannot go together")
    if actions and (opts.json_out or opts.markdown or opts.by):
        raise UsageError(f"--by, --json and --markdown are for the report, not {actions[0]}")
    if opts.import_files and not opts.do_import:
        raise UsageError("FILE arguments are for --import (orcli spend --import FILE...)")
    if opts.do_import and not opts.import_files:
        raise UsageError("--import needs at least one FILE (- reads stdin)")


# ---- the report ------------------------------------------------------------------------

def write_report(groups: list[SpendGroup], by: str | None, opts: SpendOptions,
                 streams: Streams) -> None:
    """JSON lines, Markdown, a table on a terminal, or tab-separated lines."""
    if opts.json_out:
        streams.out("".join(dumps_json(g.to_json()) + "\n" for g in groups), flush=True)
    elif opts.markdown:
        streams.out(markdown_table(groups, by), flush=True)
    elif streams.stdout_isatty:
        from orcli.render.ledger import write_spend_table

        shown = [*groups, total_of(groups)] if by is not None else groups
        rows = [table_cells(g) for g in shown]
        write_spend_table(streams, by or "group", rows)
    else:
        streams.out("".join(tsv_line(g) + "\n" for g in groups), flush=True)


def tsv_line(group: SpendGroup) -> str:
    """One group as a tab-separated line (no newline); the cost a plain decimal."""
    # A tab inside a tag value would shift the columns; an escape would reach the terminal.
    name = safe_line(" ".join(group.group.split())) or "-"
    return "\t".join([name, str(group.calls), str(group.prompt_tokens),
                      str(group.completion_tokens),
                      UNKNOWN if group.cost is None else format_decimal(group.cost),
                      str(group.estimated_calls)])


def table_cells(group: SpendGroup) -> tuple[str, str, str, str, str, str]:
    """One group as the terminal table and Markdown show it."""
    return (group.group, f"{group.calls:,}", f"{group.prompt_tokens:,}",
            f"{group.completion_tokens:,}",
            UNKNOWN if group.cost is None else format_usd(group.cost), f"{group.estimated_calls:,}")


def markdown_table(groups: list[SpendGroup], by: str | None) -> str:
    """A GitHub-flavoured Markdown table with a bold total line."""
    header = (by or "group", "calls", "prompt tokens", "completion tokens", "cost",
              "estimated calls")
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * 5]
    for cells in map(table_cells, groups):
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    total = table_cells(total_of(groups))
    lines.append("| " + " | ".join(f"**{_md_cell(c)}**" for c in total) + " |")
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    # A pipe would end the cell, and Markdown or HTML in a tag value is data, not markup.
    flat = safe_line(" ".join(text.split()))
    for char in "\\|*_`[]<>":
        flat = flat.replace(char, "\\" + char)
    return flat


# ---- export and import ---------------------------------------------------------------------

def export_records(ledger: Ledger, where: SpendFilter, streams: Streams) -> None:
    """The matching records as JSON lines, oldest first."""
    clause, params = where.where()
    batch: list[str] = []
    for rec in ledger.iter_records(clause, params):
        batch.append(dumps_json(rec.to_json()) + "\n")
        if len(batch) >= _EXPORT_BATCH:
            streams.out("".join(batch))
            batch.clear()
    streams.out("".join(batch), flush=True)


def import_files(ledger: Ledger, paths: Sequence[str], streams: Streams) -> None:
    """Merge exported files; every line is checked before any record is added."""
    records: list[LedgerRecord] = []
    for path in paths:
        records += read_export(path, streams)
    added, present = ledger.import_records(records)
    streams.err(f"orcli: spend: {added} records imported, {present} already in the ledger")


def read_export(path: str, streams: Streams) -> list[LedgerRecord]:
    """The records of one export file (`-` is stdin); a bad line is exit 2, named."""
    try:
        data = streams.stdin.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    records = []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(record_from_json(json.loads(line, parse_float=Decimal)))
        except (ValueError, RecursionError) as exc:
            reason = exc if isinstance(exc, RecordError) else "not valid JSON"
            raise UsageError(f"{path}:{number}: not a ledger record ({reason}); "
                             "nothing was imported") from None
    return records


# ---- reconcile -----------------------------------------------------------------------------

def reconcile(ledger: Ledger, settings: Settings, opts: SpendOptions, streams: Streams) -> None:
    """Ask GET /generation for each record whose cost is not billed, and store the bill."""
    from orcli.app import client_for
    from orcli.http.account import GENERATION_WAIT, fetch_generation
    from orcli.response.events import parse_cost

    rows = ledger.query(
        "SELECT generation_id, max(time) FROM record WHERE generation_id IS NOT NULL "
        "AND cost_source != 'billed' AND base_url = ? GROUP BY generation_id ORDER BY 2, 1",
        (settings.base_url,))
    client = client_for(streams, settings, debug=streams.err if opts.debug else None,
                        notify=streams.err)
    now = opts.now()
    billed = missing = 0
    for generation_id, newest in rows:
        # Only a record younger than the stats' lag is worth asking again on 404.
        age = (now - datetime.strptime(newest, TIME_FORMAT).replace(tzinfo=UTC)).total_seconds()
        try:
            data = fetch_generation(client, generation_id, wait=max(0.0, GENERATION_WAIT - age),
                                    sleep=opts.sleep, clock=opts.clock)
        except ApiError as exc:
            if exc.http_status != 404:
                raise
            missing += 1
            continue
        amount = parse_cost(data.get("total_cost"))
        if amount is None:
            missing += 1
            continue
        ledger.set_billed_cost(generation_id, amount, settings.base_url)
        billed += 1
    streams.err(f"orcli: spend: {billed} generations reconciled with their billed cost, "
                f"{missing} not found at {settings.base_url}")
