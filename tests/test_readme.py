"""The README is the manual: what it promises must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start:end]


def _test_names() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        names.update(re.findall(r"^def (test_\w+)", path.read_text(), re.M))
    return names


def test_every_fault_row_names_tests_that_exist():
    table = _section("When things go wrong")
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`test_" in line]
    assert len(rows) >= 25
    existing = _test_names()
    for row in rows:
        named = re.findall(r"`(test_\w+)`", row)
        assert named, row
        missing = [name for name in named if name not in existing]
        assert not missing, f"README names tests that do not exist: {missing}"


def test_exit_code_table_lists_every_exit_status():
    from orcli.errors import ExitStatus

    table = _section("Exit codes")
    for status in ExitStatus:
        assert re.search(rf"^\| {int(status)} \|", table, re.M), f"exit {int(status)} missing"


def test_the_test_command_is_the_one_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install --quiet --disable-pip-version-check -e '.[test]'" in ci
    assert ".venv/bin/python -m pytest" in ci
    assert ".venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest" in README
