"""The ledger store: where it lives, what a record keeps, safety with many writers, budgets."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from orcli.errors import ConfigError, ExitStatus, GuardError, UsageError
from orcli.models.pricing import ModelPrices
from orcli.response.events import Usage
from orcli.response.result import Result
from orcli.store.budget import (
    BudgetState,
    budget_cap,
    budget_state,
    period_starts,
    remaining_budget,
)
from orcli.store.ledger import SCHEMA_VERSION, Ledger, LedgerError, ledger_path, open_ledger
from orcli.store.ledger_record import LedgerRecord, record_from_result, utc_text
from orcli.store.ledger_report import SpendFilter, parse_tags, parse_when, spend_groups

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def make(**fields: object) -> LedgerRecord:
    values: dict = {"time": utc_text(NOW), "command": "chat", "base_url": "http://h/api/v1",
                    "model_asked": "m/asked", "exit_code": 0}
    return LedgerRecord(**(values | fields))


@pytest.fixture
def warnings() -> list[str]:
    return []


@pytest.fixture
def ledger(tmp_path: Path, warnings: list[str]) -> Ledger:
    opened = open_ledger({"ORCLI_LEDGER": str(tmp_path / "l.db")}, True, warnings.append)
    assert opened is not None
    yield opened
    opened.close()


# ---- where it lives ---------------------------------------------------------------------

def test_the_ledger_path_follows_orcli_ledger_then_xdg_data_home_then_home() -> None:
    assert ledger_path({"ORCLI_LEDGER": "/x/my.db", "XDG_DATA_HOME": "/d"}) == Path("/x/my.db")
    assert ledger_path({"XDG_DATA_HOME": "/d", "HOME": "/h"}) == Path("/d/orcli/ledger.db")
    assert ledger_path({"HOME": "/h"}) == Path("/h/.local/share/orcli/ledger.db")


def test_a_relative_xdg_data_home_is_ignored_as_the_xdg_spec_says() -> None:
    assert ledger_path({"XDG_DATA_HOME": "data", "HOME": "/h"}) == \
        Path("/h/.local/share/orcli/ledger.db")


def test_orcli_ledger_off_or_config_false_turns_the_ledger_off() -> None:
    assert open_ledger({"ORCLI_LEDGER": "off"}, True, print) is None
    assert open_ledger({"ORCLI_LEDGER": "OFF"}, True, print) is None
    assert open_ledger({"HOME": "/h"}, False, print) is None


def test_the_ledger_file_is_private_and_in_wal_mode(tmp_path: Path, warnings: list[str]) -> None:
    path = tmp_path / "new" / "dir" / "ledger.db"
    ledger = Ledger(path, warnings.append)
    assert ledger.record(make())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    ledger.close()
    assert warnings == []


def test_reading_a_ledger_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "none" / "l.db", print)
    assert spend_groups(ledger, "model", SpendFilter()) == []
    assert not (tmp_path / "none").exists()


# ---- what a record keeps -------------------------------------------------------------------

def test_every_field_of_a_record_comes_back_as_written(ledger: Ledger) -> None:
    rec = make(model_served="m/served", provider="Mistral", generation_id="gen-1",
               prompt_tokens=3, completion_tokens=7, reasoning_tokens=2, cached_tokens=1,
               cost=Decimal("0.0000152"), cost_source="billed", worst_case=Decimal("0.02"),
               exit_code=7, duration_ms=1234, tags={"job": "lint", "ci": "true"},
               batch_id="b1", row_id="r9", counted_prompt_tokens=4, count_kind="estimate")
    assert ledger.record(rec)
    assert list(ledger.iter_records()) == [rec]


def test_a_record_id_already_present_is_not_added_twice(ledger: Ledger) -> None:
    rec = make()
    assert ledger.import_records([rec, rec]) == (1, 1)
    assert ledger.import_records([rec]) == (0, 1)
    assert len(list(ledger.iter_records())) == 1


def test_record_from_an_answer_with_usage_cost_is_billed() -> None:
    usage = Usage(3, 7, Decimal("0.0000152"), reasoning_tokens=2, cached_tokens=1)
    result = Result(text="the answer", usage=usage, id="gen-9", model="m/served",
                    provider="Mistral")
    rec = record_from_result(result, command="stream", base_url="u", model_asked="m/asked",
                             exit_code=0, tags={"k": "v"}, counted_prompt_tokens=4,
                             count_kind="exact")
    assert (rec.cost, rec.cost_source, rec.generation_id) == (Decimal("0.0000152"), "billed",
                                                              "gen-9")
    assert (rec.model_served, rec.provider) == ("m/served", "Mistral")
    assert (rec.prompt_tokens, rec.completion_tokens, rec.reasoning_tokens,
            rec.cached_tokens) == (3, 7, 2, 1)
    assert (rec.counted_prompt_tokens, rec.count_kind, rec.tags) == (4, "exact", {"k": "v"})


def test_record_without_usage_cost_is_estimated_from_prices_or_unknown() -> None:
    result = Result(usage=Usage(1000, 500, None), model="m")
    prices = ModelPrices("m", Decimal("0.0000004"), Decimal("0.000002"), None, None)
    estimated = record_from_result(result, command="chat", base_url="u", model_asked="m",
                                   exit_code=0, prices=prices)
    assert (estimated.cost, estimated.cost_source) == (Decimal("0.0014"), "estimated")
    unknown = record_from_result(result, command="chat", base_url="u", model_asked="m",
                                 exit_code=0)
    assert (unknown.cost, unknown.cost_source) == (None, "unknown")


def test_a_cut_stream_is_recorded_with_its_id_and_an_estimate_from_orcli_counts() -> None:
    prices = ModelPrices("m", Decimal("0.0000004"), Decimal("0.000002"), None, None)
    partial = Result(text="Once upon a")  # no Done, no usage: the stream was cut
    rec = record_from_result(partial, command="stream", base_url="u", model_asked="m",
                             exit_code=7, prices=prices, counted_prompt_tokens=1000,
                             partial_completion_tokens=3, generation_id="gen-cut",
                             model_served="m", provider="Mistral")
    assert (rec.generation_id, rec.model_served, rec.provider) == ("gen-cut", "m", "Mistral")
    assert (rec.cost, rec.cost_source, rec.prompt_tokens) == (Decimal("0.000406"), "estimated",
                                                              None)


def test_an_error_reply_is_recorded_with_its_exit_code_and_no_usage() -> None:
    rec = record_from_result(None, command="chat", base_url="u", model_asked="m",
                             exit_code=ExitStatus.REFUSED, generation_id="gen-err")
    assert (rec.exit_code, rec.cost_source, rec.prompt_tokens, rec.generation_id) == \
        (4, "unknown", None, "gen-err")


def test_the_ledger_never_holds_the_prompt_or_the_answer(ledger: Ledger) -> None:
    result = Result(text="SECRET-ANSWER", reasoning="SECRET-THOUGHT", usage=Usage(1, 1, None))
    ledger.record(record_from_result(result, command="chat", base_url="u", model_asked="m",
                                     exit_code=0))
    ledger.close()
    stored = b"".join(p.read_bytes() for p in ledger.path.parent.glob("l.db*"))
    assert b"SECRET" not in stored


# ---- failures and many writers ---------------------------------------------------------------

def test_a_ledger_that_cannot_be_written_warns_once_and_never_raises(
        tmp_path: Path, warnings: list[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    ledger = Ledger(blocker / "l.db", warnings.append)
    assert ledger.record(make()) is False
    assert ledger.record(make()) is False
    assert len(warnings) == 1
    assert warnings[0].startswith("orcli: warning: ") and "not recorded" in warnings[0]


def test_a_file_that_is_not_a_database_warns_on_write_and_is_exit_3_on_read(
        tmp_path: Path, warnings: list[str]) -> None:
    path = tmp_path / "l.db"
    path.write_bytes(b"this is not sqlite" * 100)
    assert Ledger(path, warnings.append).record(make()) is False
    assert len(warnings) == 1
    with pytest.raises(LedgerError) as caught:
        spend_groups(Ledger(path, print), None, SpendFilter())
    assert caught.value.status == ExitStatus.CONFIG


def test_a_ledger_from_a_newer_orcli_is_left_alone(tmp_path: Path, warnings: list[str]) -> None:
    path = tmp_path / "l.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    assert Ledger(path, warnings.append).record(make()) is False
    assert "newer than this orcli" in warnings[0]


def test_an_older_ledger_is_migrated_in_place_and_keeps_its_records(
        tmp_path: Path, warnings: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import orcli.store.ledger as ledger_module

    path = tmp_path / "l.db"
    old = Ledger(path, warnings.append)
    old.record(make(row_id="before"))
    old.close()
    monkeypatch.setattr(ledger_module, "MIGRATIONS", ledger_module.MIGRATIONS + (
        "ALTER TABLE record ADD COLUMN note TEXT; CREATE INDEX record_note ON record (note)",))
    monkeypatch.setattr(ledger_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    new = Ledger(path, warnings.append)
    assert new.record(make(row_id="after"))
    assert [r.row_id for r in new.iter_records()] == ["before", "after"]
    new.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert "note" in [row[1] for row in conn.execute("PRAGMA table_info(record)")]
    assert warnings == []


WRITER = """
import sys
from orcli.store.ledger import open_ledger
from orcli.store.ledger_record import LedgerRecord, utc_text
ledger = open_ledger({"ORCLI_LEDGER": sys.argv[1]}, True, lambda line: sys.exit(line))
for i in range(int(sys.argv[2])):
    ledger.record(LedgerRecord(time=utc_text(), command="batch", base_url="u",
                               model_asked="m", exit_code=0, row_id=f"{sys.argv[3]}-{i}"))
"""


def test_many_processes_writing_at_once_lose_and_double_no_record(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), "40", str(n)],
                                stderr=subprocess.PIPE) for n in range(8)]
    for writer in writers:
        _, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err.decode()
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT count(*), count(DISTINCT row_id) FROM record").fetchone()
    assert rows == (320, 320)


def test_batch_workers_may_record_from_their_own_threads(ledger: Ledger,
                                                         warnings: list[str]) -> None:
    import threading

    threads = [threading.Thread(target=lambda n=n: [ledger.record(make(row_id=f"{n}-{i}"))
                                                    for i in range(25)]) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert warnings == []
    assert len({rec.row_id for rec in ledger.iter_records()}) == 200


# ---- spend's arithmetic ------------------------------------------------------------------------

def test_costs_add_up_exactly_per_group(ledger: Ledger) -> None:
    for cost, model in (("0.1", "a"), ("0.2", "a"), ("0.000000000001", "b"), (None, "b")):
        ledger.record(make(model_served=model, cost=cost and Decimal(cost),
                           cost_source="billed" if cost else "unknown", prompt_tokens=10))
    groups = {g.group: g for g in spend_groups(ledger, "model", SpendFilter())}
    assert groups["a"].cost == Decimal("0.3")
    assert groups["b"].cost == Decimal("0.000000000001")
    assert (groups["b"].calls, groups["b"].estimated_calls, groups["b"].prompt_tokens) == \
        (2, 1, 20)


def test_groups_by_day_provider_command_and_tag(ledger: Ledger) -> None:
    ledger.record(make(time="2026-03-14T23:59:59.000000Z", provider="A", command="chat",
                       tags={"job": "x"}))
    ledger.record(make(time="2026-03-15T00:00:00.000000Z", command="batch"))
    by = {key: [g.group for g in spend_groups(ledger, key, SpendFilter())]
          for key in ("day", "provider", "command", "tag:job")}
    assert by["day"] == ["2026-03-14", "2026-03-15"]
    assert sorted(by["provider"]) == ["-", "A"]
    assert sorted(by["command"]) == ["batch", "chat"]
    assert sorted(by["tag:job"]) == ["-", "x"]


def test_since_until_and_tags_filter_the_records(ledger: Ledger) -> None:
    for hour, job in ((9, "a"), (10, "a"), (11, "b")):
        ledger.record(make(time=f"2026-03-15T{hour:02}:00:00.000000Z", tags={"job": job}))
    where = SpendFilter(since=datetime(2026, 3, 15, 10, tzinfo=UTC),
                        until=datetime(2026, 3, 15, 11, tzinfo=UTC))
    assert spend_groups(ledger, None, where)[0].calls == 1
    assert spend_groups(ledger, None, SpendFilter(tags={"job": "a"}))[0].calls == 2


def test_when_is_a_duration_ago_or_an_iso_date_or_time() -> None:
    assert parse_when("30m", "--since", NOW) == datetime(2026, 3, 15, 11, 30, tzinfo=UTC)
    assert parse_when("7d", "--since", NOW) == datetime(2026, 3, 8, 12, tzinfo=UTC)
    assert parse_when("2026-03-01", "--since", NOW) == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_when("2026-03-01", "--until", NOW, end_of_day=True) == \
        datetime(2026, 3, 2, tzinfo=UTC)
    assert parse_when("2026-03-01T10:00+02:00", "--since", NOW) == \
        datetime(2026, 3, 1, 8, tzinfo=UTC)
    with pytest.raises(UsageError):
        parse_when("yesterday", "--since", NOW)


def test_tags_come_from_orcli_tags_and_flags_and_flags_win() -> None:
    env = {"ORCLI_TAGS": "ci=true, job=lint,"}
    assert parse_tags(["job=test", "pr=12"], env) == {"ci": "true", "job": "test", "pr": "12"}
    with pytest.raises(UsageError):
        parse_tags(["novalue"], {})
    with pytest.raises(ConfigError):
        parse_tags([], {"ORCLI_TAGS": "bad key=1"})


# ---- budgets ---------------------------------------------------------------------------

def test_the_budget_periods_are_the_utc_day_and_month() -> None:
    assert period_starts(NOW) == (datetime(2026, 3, 15, tzinfo=UTC),
                                  datetime(2026, 3, 1, tzinfo=UTC))


def test_remaining_is_the_least_left_of_the_budgets_set() -> None:
    assert remaining_budget(None, None, Decimal(1), Decimal(1)) is None
    assert remaining_budget(Decimal("1"), Decimal("10"), Decimal("0.25"), Decimal("9.5")) == \
        Decimal("0.5")


def test_budget_state_counts_only_the_current_day_and_month(ledger: Ledger) -> None:
    ledger.record(make(time="2026-03-15T01:00:00.000000Z", cost=Decimal("0.4"),
                       cost_source="billed"))
    ledger.record(make(time="2026-03-02T01:00:00.000000Z", cost=Decimal("1"),
                       cost_source="estimated"))
    ledger.record(make(time="2026-02-28T01:00:00.000000Z", cost=Decimal("50"),
                       cost_source="billed"))
    state = budget_state(Decimal("1"), Decimal("2"), ledger, NOW)
    assert (state.spent_today, state.spent_this_month) == (Decimal("0.4"), Decimal("1.4"))
    assert state.remaining == Decimal("0.6")
    state.check(Decimal("0.6"))  # exactly fits
    with pytest.raises(GuardError, match="budget_daily"):
        state.check(Decimal("0.61"))


def test_no_budget_needs_nothing_and_a_budget_without_the_ledger_is_exit_3() -> None:
    assert budget_state(None, None, None) is None
    with pytest.raises(ConfigError):
        budget_state(Decimal(1), None, None)


def test_the_cap_for_max_tokens_is_the_least_of_max_cost_and_what_is_left() -> None:
    assert budget_cap(None, None) is None
    assert budget_cap(Decimal("0.5"), None) == Decimal("0.5")
    left_02 = BudgetState(Decimal("1"), None, Decimal("0.8"), Decimal(0))
    assert budget_cap(Decimal("0.5"), left_02) == Decimal("0.2")
    assert budget_cap(Decimal("0.1"), left_02) == Decimal("0.1")
    overspent = BudgetState(Decimal("1"), None, Decimal("3"), Decimal(0))
    assert budget_cap(None, overspent) == Decimal(0)


# ---- the settings -------------------------------------------------------------------------

def test_ledger_and_budget_settings_come_from_the_config_file_and_environment() -> None:
    from orcli.store.config import resolve_settings

    file_values = {"ledger": False, "budget_daily": 0.1, "budget_monthly": "12.50"}
    settings = resolve_settings({}, {"ORCLI_BUDGET_DAILY": "$0.25"}, file_values, "c.toml")
    assert settings.ledger is False
    assert (settings.budget_daily, settings.budget_monthly) == (Decimal("0.25"),
                                                                Decimal("12.50"))
    assert resolve_settings({}, {}, {"budget_daily": 0.1}, "c.toml").budget_daily == \
        Decimal("0.1")  # the float's shortest form, not 0.1000000000000000055...


@pytest.mark.parametrize("env, file_values", [
    ({"ORCLI_BUDGET_DAILY": "ten"}, {}), ({"ORCLI_BUDGET_MONTHLY": "-1"}, {}),
    ({}, {"ledger": "no"}), ({}, {"budget_daily": True})])
def test_bad_ledger_or_budget_settings_are_exit_3(env: dict, file_values: dict) -> None:
    from orcli.store.config import resolve_settings

    with pytest.raises(ConfigError):
        resolve_settings({}, env, file_values, "c.toml")
