"""The ledger's benchmark cases: `orcli spend` over 100,000 records, and chat's ledger write.

`spend`: the report must stay well under a second however long the ledger grows,
so it is measured over 100,000 records (spread over 90 days, 12 models, 4
providers, 3 tags each) against an absolute bound as well as the Typer floor.
`chat-ledger`: the same `echo hi | orcli chat` with the ledger on and with
ORCLI_LEDGER=off; the write must not be felt (≤ 1.1×). Its check fails until
chat records its calls, so a ledger that is not written is never timed as fast.
`chat-ledger-estimate`: the same for a model orcli counts by estimate whose
calibration is full (20 calls on record), where counting the prompt for the
calibration after every answer would load the vocabulary each time.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from harness import Command, verify

SPEND_RECORDS = 100_000


def fill_ledger(path: Path, count: int = SPEND_RECORDS) -> None:
    """A ledger of `count` plausible records, made the way orcli writes them."""
    from orcli.store.ledger import Ledger
    from orcli.store.ledger_record import LedgerRecord, utc_text

    rng = random.Random(17)
    start = datetime.now(UTC) - timedelta(days=90)
    models = [f"vendor{i % 4}/model-{i}" for i in range(12)]
    records = []
    for i in range(count):
        billed = rng.random() < 0.9
        records.append(LedgerRecord(
            time=utc_text(start + timedelta(seconds=i * 77.76)), command=rng.choice(
                ("chat", "stream", "batch")), base_url="https://openrouter.ai/api/v1",
            model_asked=rng.choice(models), model_served=rng.choice(models),
            provider=rng.choice(("Mistral", "Groq", "Together", "DeepInfra")),
            generation_id=f"gen-{i}", prompt_tokens=rng.randint(10, 5000),
            completion_tokens=rng.randint(1, 2000),
            cost=Decimal(rng.randint(1, 10**7)) / Decimal(10**10),
            cost_source="billed" if billed else "estimated", exit_code=0,
            tags={"job": f"job{rng.randint(1, 20)}", "ci": "true", "run": str(i // 500)}))
    ledger = Ledger(path, print)
    ledger.import_records(records)
    ledger.close()


def expect_calls(total: int) -> Callable[[bytes, bytes], str | None]:
    def check(out: bytes, err: bytes) -> str | None:
        try:
            calls = sum(int(line.split(b"\t")[1]) for line in out.splitlines())
        except (IndexError, ValueError):
            return f"not the tab-separated report: {out[:60]!r}"
        return None if calls == total else f"the groups add up to {calls} calls, not {total}"

    return check


def expect_lines(count: int) -> Callable[[bytes, bytes], str | None]:
    def check(out: bytes, err: bytes) -> str | None:
        lines = len(out.splitlines())
        return None if lines == count else f"expected {count} lines, got {lines}"

    return check


def spend_commands(orcli: list[str], env: dict[str, str], root: Path) -> dict[str, Command]:
    ledger = root / "spend-ledger.db"
    env = env | {"ORCLI_LEDGER": str(ledger)}
    return {
        "orcli": Command(f"orcli spend --by model ({SPEND_RECORDS:,} records)",
                         orcli + ["spend", "--by", "model"], env,
                         check=expect_calls(SPEND_RECORDS)),
        "tag": Command("orcli spend --since 30d --by tag:job (same ledger)",
                       orcli + ["spend", "--since", "30d", "--by", "tag:job"], env,
                       check=expect_lines(20)),
    }


def make_spend_setup(root: Path) -> Callable[[Path], str | None]:
    def setup(scratch: Path) -> str | None:
        fill_ledger(root / "spend-ledger.db")
        return None

    return setup


def chat_ledger_commands(orcli: list[str], env: dict[str, str], hi: Path, root: Path,
                         check: Callable[[bytes, bytes], str | None]) -> dict[str, Command]:
    on = env | {"ORCLI_LEDGER": str(root / "chat-ledger.db")}
    off = env | {"ORCLI_LEDGER": "off"}
    return {
        "orcli": Command("echo hi | orcli chat (ledger on)", orcli + ["chat"], on, stdin=hi,
                         check=check),
        "off": Command("echo hi | orcli chat (ORCLI_LEDGER=off)", orcli + ["chat"], off,
                       stdin=hi, check=check),
    }


def make_chat_ledger_setup(command: Command, root: Path) -> Callable[[Path], str | None]:
    def setup(scratch: Path) -> str | None:
        problem = verify(command, scratch)
        if problem:
            return problem
        path = root / "chat-ledger.db"
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
                count = conn.execute("SELECT count(*) FROM record").fetchone()[0]
        except sqlite3.Error:
            count = 0
        return None if count else "chat wrote no ledger record (not wired into chat yet)"

    return setup


def chat_estimate_commands(orcli: list[str], env: dict[str, str], hi: Path, root: Path,
                           model: str, check: Callable[[bytes, bytes], str | None]
                           ) -> dict[str, Command]:
    """`echo hi | orcli chat -m MODEL`, ledger on (MODEL's calibration full) and off."""
    on = env | {"ORCLI_LEDGER": str(root / "chat-estimate.db")}
    off = env | {"ORCLI_LEDGER": "off"}
    argv = orcli + ["chat", "-m", model]
    return {
        "orcli": Command(f"echo hi | orcli chat -m {model} (ledger on, calibrated)", argv, on,
                         stdin=hi, check=check),
        "off": Command(f"echo hi | orcli chat -m {model} (ORCLI_LEDGER=off)", argv, off,
                       stdin=hi, check=check),
    }


def make_calibrated_setup(root: Path, model: str) -> Callable[[Path], str | None]:
    """A ledger holding 20 billed calls of `model` next to orcli's own counts."""
    def setup(scratch: Path) -> str | None:
        from orcli.models.calibration import CALLS_USED
        from orcli.store.ledger import Ledger
        from orcli.store.ledger_record import LedgerRecord, utc_text

        ledger = Ledger(root / "chat-estimate.db", print)
        now = datetime.now(UTC)
        for i in range(CALLS_USED):
            ledger.record(LedgerRecord(
                time=utc_text(now - timedelta(minutes=CALLS_USED - i)), command="chat",
                base_url="http://127.0.0.1/api/v1", model_asked=model, model_served=model,
                exit_code=0, prompt_tokens=7, completion_tokens=9,
                counted_prompt_tokens=5, count_kind="estimate"))
        return None

    return setup
