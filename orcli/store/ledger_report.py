"""What `orcli spend` asks of the ledger: filters, groups and exact sums; tags; WHEN.

Costs are stored as exact decimal text. SQLite has no decimal type, and a fixed
integer unit either drops digits (nano-dollars cannot hold a billed
$0.00000000123) or overflows 64 bits when fine enough to hold every billed
digit; so SQL counts and sums the tokens, `group_concat` hands each group's
cost texts over, and Python adds them as Decimals (~0.1 s for 100,000 records).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext

from msgspec import Struct, field

from orcli.errors import ConfigError, OrcliError, UsageError
from orcli.store.ledger import Ledger
from orcli.store.ledger_record import utc_text

GROUPINGS = ("model", "provider", "day", "command")
TAG_KEY = re.compile(r"[A-Za-z0-9_.:/-]{1,64}")
NONE_LABEL = "-"  # no provider, no such tag: as `orcli models` writes an unknown
_AGO = re.compile(r"(\d{1,6})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_GROUP_SQL = {
    None: "'total'",
    "model": "coalesce(r.model_served, r.model_asked)",
    "provider": f"coalesce(r.provider, '{NONE_LABEL}')",
    "day": "substr(r.time, 1, 10)",
    "command": "r.command",
}


class SpendGroup(Struct, frozen=True):
    """One line of `orcli spend`: a group's calls, tokens and cost."""

    group: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal | None  # None: no record of the group has a known cost (never $0 then)
    estimated_calls: int  # records whose cost is not billed (estimated or unknown)

    def to_json(self) -> dict[str, object]:
        return {"group": self.group, "calls": self.calls, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "cost": self.cost,
                "estimated_calls": self.estimated_calls}


class SpendFilter(Struct, frozen=True):
    """Which records count: a time window (UTC, `until` excluded) and tags that must match."""

    since: datetime | None = None
    until: datetime | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def where(self) -> tuple[str, list[object]]:
        """A WHERE clause over `record r`, and its parameters."""
        clauses: list[str] = []
        params: list[object] = []
        if self.since is not None:
            clauses.append("r.time >= ?")
            params.append(utc_text(self.since))
        if self.until is not None:
            clauses.append("r.time < ?")
            params.append(utc_text(self.until))
        for key, value in self.tags.items():
            clauses.append("EXISTS (SELECT 1 FROM tag t WHERE t.record = r.id AND t.key = ? "
                           "AND t.value = ?)")
            params += [key, value]
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def spend_groups(ledger: Ledger, by: str | None, where: SpendFilter) -> list[SpendGroup]:
    """Calls, tokens and cost per group; days in order, other groups most costly first."""
    clause, params = where.where()
    join = ""
    if by is not None and by.startswith("tag:"):
        join = "LEFT JOIN tag g ON g.record = r.id AND g.key = ?"
        params = [by[4:], *params]
        group_sql = f"coalesce(g.value, '{NONE_LABEL}')"
    else:
        group_sql = _GROUP_SQL[by]
    rows = ledger.query(
        f"SELECT {group_sql} AS grp, count(*), sum(coalesce(r.prompt_tokens, 0)), "
        f"sum(coalesce(r.completion_tokens, 0)), sum(r.cost_source != 'billed'), "
        f"group_concat(r.cost, ' ') FROM record r {join} {clause} "
        # Without --by, one aggregate row (also when no record matches), and no sort.
        f"{'GROUP BY grp' if by else ''}", params)
    groups = [SpendGroup(str(g), calls, prompt or 0, completion or 0,
                         sum_costs(costs) if costs else None, estimated or 0)
              for g, calls, prompt, completion, estimated, costs in rows]
    if by is None and not groups:  # no ledger file yet: nothing spent is still a total
        return [SpendGroup("total", 0, 0, 0, Decimal(0), 0)]
    if by == "day":
        return sorted(groups, key=lambda g: g.group)
    return sorted(groups, key=lambda g: (g.cost is None, -(g.cost or 0), g.group))


def sum_costs(texts: str | None) -> Decimal:
    """The exact sum of space-separated decimal texts."""
    if not texts:
        return Decimal(0)
    with localcontext(prec=60):
        return sum(map(Decimal, texts.split(" ")), Decimal(0))


def total_of(groups: Sequence[SpendGroup]) -> SpendGroup:
    """The groups added up, as the table's last line."""
    known = [g.cost for g in groups if g.cost is not None]
    with localcontext(prec=60):
        return SpendGroup("total", sum(g.calls for g in groups),
                          sum(g.prompt_tokens for g in groups),
                          sum(g.completion_tokens for g in groups),
                          sum(known, Decimal(0)) if known else None,
                          sum(g.estimated_calls for g in groups))


def parse_grouping(value: str | None) -> str | None:
    """--by model|provider|day|command|tag:KEY, or exit 2."""
    if value is None or value in GROUPINGS:
        return value
    if value.startswith("tag:") and TAG_KEY.fullmatch(value[4:]):
        return value
    raise UsageError(f"--by must be one of {', '.join(GROUPINGS)} or tag:KEY, not {value!r}")


def parse_when(value: str, flag: str, now: datetime, end_of_day: bool = False) -> datetime:
    """WHEN: 30m, 12h, 7d (that long ago), or an ISO date or time (UTC unless it says).

    A bare date is the start of that day; with `end_of_day` (for --until) its end, so
    `--since 2026-01-01 --until 2026-01-31` is the whole of January.
    """
    text = value.strip()
    ago = _AGO.fullmatch(text)
    if ago:
        return now - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} expects 30m, 12h, 7d or an ISO date or time like 2026-01-31 "
                         f"or 2026-01-31T14:00Z, not {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if end_of_day and len(text) == 10:
        moment += timedelta(days=1)
    return moment.astimezone(UTC)


def parse_tags(values: Sequence[str], env: Mapping[str, str]) -> dict[str, str]:
    """Tags from ORCLI_TAGS="k=v,k2=v2" and --tag KEY=VALUE (repeatable; flags win)."""
    tags: dict[str, str] = {}
    for item in env.get("ORCLI_TAGS", "").split(","):
        if item.strip():
            key, value = _split_tag(item.strip(), "ORCLI_TAGS", ConfigError)
            tags[key] = value
    for item in values:
        key, value = _split_tag(item, "--tag", UsageError)
        tags[key] = value
    return tags


def _split_tag(item: str, where: str, error: type[OrcliError]) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not TAG_KEY.fullmatch(key):
        raise error(f"{where} expects KEY=VALUE with a KEY of letters, digits and _.:/- "
                    f"(at most 64), not {item[:80]!r}")
    if len(value) > 256 or not value.isprintable():
        raise error(f"{where}: the value of tag {key!r} must be printable and at most 256 "
                    "characters")
    return key, value
