"""The `orcli batch` cases: 400 rows at 50 ms each with -j 16 against a 16-thread floor,
peak memory at 2,000 and 10,000 rows, and a loop of `orcli chat` under `xargs -P 16`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from fake_server_main import BATCH_DELAY, CHAT_ANSWER
from harness import HERE, Command, FakeServer, isolated_env

BATCH_ROWS = 400
MEMORY_ROWS = (2_000, 10_000)


def write_rows(root: Path, n: int) -> Path:
    """n prompts, one JSON string per line."""
    path = root / f"rows-{n}.jsonl"
    path.write_text("".join(json.dumps(f"prompt number {i}: say hello") + "\n"
                            for i in range(1, n + 1)))
    return path


def expect_answers(n: int) -> Callable[[bytes, bytes], str | None]:
    """n output lines, every one the fake server's answer."""
    def check(out: bytes, err: bytes) -> str | None:
        found = out.splitlines()
        good = sum(1 for line in found if json.loads(line).get("text") == CHAT_ANSWER)
        return None if good == n else f"{good} of {n} rows answered ({len(found)} lines)"

    return check


def expect_text_lines(n: int) -> Callable[[bytes, bytes], str | None]:
    def check(out: bytes, err: bytes) -> str | None:
        count = out.decode("utf-8", "replace").count(CHAT_ANSWER)
        return None if count == n else f"{count} of {n} answers"

    return check


def batch_cases(orcli: list[str], py: str, server: FakeServer, root: Path, rounds: int):
    """The three cases, as run.py's Case and Comparison build them."""
    from run import Case, Comparison

    env = isolated_env(root / "env", server.base_url("batch"))
    rows = write_rows(root, BATCH_ROWS)
    check = expect_answers(BATCH_ROWS)
    speed = Case("batch", {
        "orcli": Command(f"orcli batch -j 16 ({BATCH_ROWS} rows, {BATCH_DELAY * 1000:g} ms "
                         "each)", orcli + ["batch", "-j", "16", str(rows)], env, check=check),
        "floor": Command("16 threads, a requests.Session each (floors/batch_threads.py)",
                         [py, str(HERE / "floors" / "batch_threads.py"), str(rows)], env,
                         check=check),
    }, [Comparison("wall", "orcli", "floor", 1.3)], rounds)
    fast_env = isolated_env(root / "env", server.base_url("batch-fast"))
    small, big = (write_rows(root, n) for n in MEMORY_ROWS)
    memory = Case("batch-memory", {
        "orcli": Command(f"orcli batch -j 16 ({MEMORY_ROWS[1]:,} rows)",
                       orcli + ["batch", "-j", "16", str(big)], fast_env,
                       check=expect_answers(MEMORY_ROWS[1]), timeout=300, measure_rss=True),
        "small": Command(f"orcli batch -j 16 ({MEMORY_ROWS[0]:,} rows)",
                         orcli + ["batch", "-j", "16", str(small)], fast_env,
                         check=expect_answers(MEMORY_ROWS[0]), measure_rss=True),
    }, [Comparison("rss", "orcli", "small", 1.25)], max(2, rounds // 5))
    xargs = shutil.which("xargs") or "xargs"
    loop = Case("batch-xargs", {
        "orcli": speed.commands["orcli"],
        "xargs": Command(f"xargs -P 16 orcli chat ({BATCH_ROWS} processes)",
                         [xargs, "-a", str(root / "prompts.txt"), "-d", "\\n", "-P", "16",
                          "-n", "1", *orcli, "chat", "--no-usage"], env,
                         check=expect_text_lines(BATCH_ROWS), timeout=600),
    }, [Comparison("wall", "orcli", "xargs", None)], 2)
    (root / "prompts.txt").write_text("".join(f"prompt number {i}: say hello\n"
                                              for i in range(1, BATCH_ROWS + 1)))
    return [speed, memory, loop]
