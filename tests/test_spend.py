"""`orcli spend`: the report's formats, export and import, reconcile, and its usage errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from orcli.store.ledger import Ledger
from orcli.store.ledger_record import LedgerRecord, utc_text
from tests.fake_openrouter import ERR_404_GENERATION, FakeOpenRouter, generation_data


def record(**fields: object) -> LedgerRecord:
    values: dict = {"time": utc_text(), "command": "chat", "base_url": "http://h/api/v1",
                    "model_asked": "m/asked", "exit_code": 0, "prompt_tokens": 3,
                    "completion_tokens": 7, "cost": Decimal("0.0000152"), "cost_source": "billed"}
    return LedgerRecord(**(values | fields))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


@pytest.fixture
def env(path: Path) -> dict[str, str]:
    return {"ORCLI_LEDGER": str(path)}


def fill(path: Path, *records: LedgerRecord) -> None:
    ledger = Ledger(path, print)
    ledger.import_records(records)
    ledger.close()


def test_piped_spend_is_one_tab_separated_line_per_group(run, path, env) -> None:
    fill(path, record(model_served="a/one"), record(model_served="a/one"),
         record(model_served="b/two", cost=None, cost_source="unknown"))
    out = run("spend", "--by", "model", env=env).stdout
    # A group whose every cost is unknown says so: a 0 would read as free.
    assert out == "a/one\t2\t6\t14\t0.0000304\t0\nb/two\t1\t3\t7\tunknown\t1\n"
    printed = [json.loads(line) for line in run("spend", "--by", "model", "--json",
                                                env=env).stdout.splitlines()]
    assert [g["cost"] for g in printed] == [0.0000304, None]


def test_without_by_there_is_one_total_group_even_with_no_records(run, env) -> None:
    assert run("spend", env=env).stdout == "total\t0\t0\t0\t0\t0\n"


def test_json_lines_carry_exact_decimal_costs(run, path, env) -> None:
    fill(path, record(cost=Decimal("0.1")), record(cost=Decimal("0.2"), cost_source="estimated"))
    out = run("spend", "--json", env=env).stdout
    line = json.loads(out, parse_float=Decimal)
    assert line == {"group": "total", "calls": 2, "prompt_tokens": 6, "completion_tokens": 14,
                    "cost": Decimal("0.3"), "estimated_calls": 1}
    assert '"cost": 0.3,' in out


def test_markdown_is_a_table_with_a_bold_total(run, path, env) -> None:
    fill(path, record(tags={"job": "lint|fmt"}), record(tags={"job": "test"}))
    out = run("spend", "--by", "tag:job", "--markdown", env=env).stdout.splitlines()
    assert out[0] == ("| tag:job | calls | prompt tokens | completion tokens | cost "
                      "| estimated calls |")
    assert "| lint\\|fmt | 1 |" in out[2] + out[3]
    assert out[-1] == "| **total** | **2** | **6** | **14** | **$0.0000304** | **0** |"


def test_the_terminal_table_ends_with_the_total(run, path, env) -> None:
    fill(path, record(provider="Mistral"), record(provider="Groq"))
    lines = run("spend", "--by", "provider", env=env | {"NO_COLOR": "1"}, tty=True
                ).stdout.splitlines()
    assert lines[0].split() == ["provider", "calls", "in", "tokens", "out", "tokens", "cost",
                                "estimated"]
    assert lines[-1].split() == ["total", "2", "6", "14", "$0.0000304", "0"]


def test_a_long_group_name_is_cut_to_fit_the_terminal_and_the_figures_stay_whole(
        run, path, env) -> None:
    fill(path, record(model_served="vendor/" + "very-long-model-name-" * 5))
    lines = run("spend", "--by", "model", env=env | {"NO_COLOR": "1", "COLUMNS": "80"},
                tty=True).stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert "…" in lines[1] and lines[1].split()[-5:] == ["1", "3", "7", "$0.0000152", "0"]


def test_filters_pick_the_records(run, path, env) -> None:
    old = utc_text(datetime.now(UTC) - timedelta(days=3))
    fill(path, record(time=old, tags={"ci": "true"}), record(tags={"ci": "true"}), record())
    assert run("spend", "--since", "1d", env=env).stdout.startswith("total\t2\t")
    assert run("spend", "--until", "2d", env=env).stdout.startswith("total\t1\t")
    assert run("spend", "--tag", "ci=true", env=env).stdout.startswith("total\t2\t")


def test_export_then_import_merges_without_doubling(run, path, env, tmp_path) -> None:
    fill(path, record(model_served="x", tags={"runner": "1"}), record(model_served="y"))
    exported = tmp_path / "export.jsonl"
    exported.write_text(run("spend", "--export", env=env).stdout)
    other = {"ORCLI_LEDGER": str(tmp_path / "gathered.db")}
    first = run("spend", "--import", str(exported), env=other)
    assert first.stderr == "orcli: spend: 2 records imported, 0 already in the ledger\n"
    again = run("spend", "--import", str(exported), "-", stdin=exported.read_bytes(), env=other)
    assert again.stderr == "orcli: spend: 0 records imported, 4 already in the ledger\n"
    assert run("spend", "--export", env=other).stdout == exported.read_text()


def test_a_bad_import_line_is_exit_2_naming_it_and_nothing_is_added(run, env, tmp_path) -> None:
    good = json.dumps({"time": utc_text(), "command": "chat", "base_url": "u",
                       "model_asked": "m", "exit_code": 0, "record_id": "r1"})
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good + "\n" + '{"time": "yesterday"}\n')
    result = run("spend", "--import", str(bad), env=env, expect=2)
    assert f"{bad}:2: not a ledger record" in result.stderr
    assert run("spend", env=env).stdout.startswith("total\t0\t")


def test_with_the_ledger_off_spend_is_exit_3(run) -> None:
    result = run("spend", env={"ORCLI_LEDGER": "off"}, expect=3)
    assert "the ledger is off" in result.stderr


@pytest.mark.parametrize("args", [["--json", "--markdown"], ["--by", "colour"],
                                  ["--since", "last week"], ["--export", "--import", "f"],
                                  ["stray-file"], ["--import"], ["--tag", "nokey"]])
def test_bad_flags_are_usage_errors(run, env, args) -> None:
    assert run("spend", *args, env=env, expect=2).stderr.startswith(("orcli: error:", "Usage"))


def test_reconcile_stores_billed_costs_for_records_that_lack_them(
        run, server: FakeOpenRouter, path, env) -> None:
    old = utc_text(datetime.now(UTC) - timedelta(hours=1))
    fill(path, record(time=old, base_url=server.base_url, generation_id="gen-cut",
                      cost=Decimal("0.001"), cost_source="estimated"),
         record(time=old, base_url=server.base_url, generation_id="gen-gone",
                cost=None, cost_source="unknown"),
         record(base_url="http://elsewhere/v1", generation_id="gen-other",
                cost=None, cost_source="unknown"),
         record(base_url=server.base_url, generation_id="gen-billed"))
    server.json(generation_data("gen-cut", total_cost=0.0015))
    server.json(ERR_404_GENERATION, status=404)  # an hour old: not asked again
    result = run("spend", "--reconcile", env=env)
    asked = sorted(r.path for r in server.requests)
    assert asked == ["/api/v1/generation?id=gen-cut", "/api/v1/generation?id=gen-gone"]
    assert "1 generations reconciled" in result.stderr and "1 not found" in result.stderr
    report = run("spend", "--json", env=env).stdout
    assert json.loads(report, parse_float=Decimal)["estimated_calls"] == 2
    exported = [json.loads(line, parse_float=Decimal)
                for line in run("spend", "--export", env=env).stdout.splitlines()]
    cut = next(r for r in exported if r["generation_id"] == "gen-cut")
    assert (cut["cost"], cut["cost_source"]) == (Decimal("0.0015"), "billed")


def test_piped_spend_loads_neither_rich_nor_requests(path, isolated_env, tmp_path) -> None:
    from tests.test_imports import probe

    fill(path, record())
    env = isolated_env | {"ORCLI_LEDGER": str(path), "PYTHONDONTWRITEBYTECODE": "1"}
    report = probe(["spend", "--by", "model"], env, tmp_path)
    assert report["code"] == 0, report["stderr"]
    assert report["stdout"].startswith("m/asked\t1\t3\t7\t")
    assert not {"rich", "requests"} & set(report["loaded"])
