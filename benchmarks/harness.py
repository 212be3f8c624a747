"""The measuring parts of the benchmarks: fresh processes, wall and CPU time, the fake server.

Every measured command is a new process started with subprocess and reaped
with os.wait4, which gives that one child's CPU time (user + system) exactly,
without counting the fake server or any other child.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from io import BufferedReader
from pathlib import Path
from typing import BinaryIO

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DUMMY_KEY = "sk-or-v1-" + "b3nch" * 12 + "0000"

# A check reads the command's stdout and stderr and returns a problem, or None.
Check = Callable[[bytes, bytes], "str | None"]


@dataclass
class Command:
    label: str  # how the table shows it
    argv: list[str]
    env: dict[str, str]
    stdin: Path | None = None
    check: Check | None = None
    timeout: float = 120.0
    expect_code: int = 0  # a refusal (exit 8) can be the result being measured
    # Run through peak_rss.py so that the peak RSS is the command's own, not the
    # runner's (see there); it adds a small Python start-up to wall time, so only
    # memory cases use it.
    measure_rss: bool = False
    # Read stdout through a pipe and note when its first byte comes (time to first
    # token); the rest still goes to the stdout file.
    measure_first_byte: bool = False


@dataclass
class Sample:
    wall: float  # seconds, time.perf_counter around start to reap
    cpu: float  # seconds, user + system of the child (os.wait4)
    code: int
    # MiB, the command's peak RSS (ru_maxrss), measured only for Command.measure_rss
    rss: float = 0.0
    # seconds from start to the first byte on stdout, for Command.measure_first_byte
    first: float = 0.0
    stdout: bytes = b""
    stderr: bytes = b""


@dataclass
class Series:
    samples: list[Sample] = field(default_factory=list)

    def median(self, metric: str) -> float:
        return statistics.median(getattr(s, metric) for s in self.samples)

    def spread(self, metric: str) -> tuple[float, float]:
        values = [getattr(s, metric) for s in self.samples]
        return min(values), max(values)


def run_once(cmd: Command, scratch: Path, keep_output: bool = False) -> Sample:
    """Run the command as a fresh process; stdout and stderr go to files (not a terminal)."""
    out_path, err_path = scratch / "stdout", scratch / "stderr"
    stdin_path = cmd.stdin or Path(os.devnull)
    rss_path = scratch / "peak-rss"
    argv = cmd.argv
    if cmd.measure_rss:
        argv = [sys.executable, str(HERE / "peak_rss.py"), str(rss_path), *argv]
    first = [0.0]
    with open(stdin_path, "rb") as fin, open(out_path, "wb") as fout, \
            open(err_path, "wb") as ferr:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=fin, stdout=subprocess.PIPE if
                                cmd.measure_first_byte else fout, stderr=ferr, env=cmd.env,
                                cwd=scratch)
        reader = None
        if cmd.measure_first_byte:
            reader = threading.Thread(target=_note_first_byte,
                                      args=(proc.stdout, fout, start, first))
            reader.start()
        timer = threading.Timer(cmd.timeout, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        timer.cancel()
        if reader is not None:
            reader.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    sample = Sample(wall, usage.ru_utime + usage.ru_stime, proc.returncode, first=first[0])
    if cmd.measure_rss:
        sample.rss = int(rss_path.read_text()) / 1024
    if keep_output:
        sample.stdout, sample.stderr = out_path.read_bytes(), err_path.read_bytes()
    return sample


def _note_first_byte(pipe: BufferedReader, out: BinaryIO, start: float,
                     first: list[float]) -> None:
    """Copy the pipe to `out`, noting when its first byte came."""
    data = pipe.read1(1 << 16)
    first[0] = time.perf_counter() - start
    while data:
        out.write(data)
        data = pipe.read1(1 << 16)
    pipe.close()


def verify(cmd: Command, scratch: Path) -> str | None:
    """Run once and check the result: a fast wrong answer must not count. None when fine."""
    try:
        sample = run_once(cmd, scratch, keep_output=True)
    except OSError as exc:
        return f"cannot run {cmd.argv[0]}: {exc.strerror}"
    if sample.code != cmd.expect_code:
        return f"exit {sample.code}: {last_line(sample.stderr)}"
    if cmd.check is not None:
        return cmd.check(sample.stdout, sample.stderr)
    return None


def last_line(data: bytes) -> str:
    """The error line worth showing: orcli's own `error:` line, else the last line."""
    lines = [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line]
    return (errors or lines or ["(no message)"])[0 if errors else -1][:160]


def isolated_env(root: Path, base_url: str) -> dict[str, str]:
    """No config, cache or key of the developer's: HOME and XDG dirs under root."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "OPENROUTER_BASE_URL": base_url, "OPENROUTER_API_KEY": DUMMY_KEY}
    for name, sub in (("HOME", "home"), ("XDG_CONFIG_HOME", "config"),
                      ("XDG_CACHE_HOME", "cache"), ("XDG_DATA_HOME", "data"),
                      ("XDG_STATE_HOME", "state")):
        (root / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(root / sub)
    return env


class FakeServer:
    """benchmarks/fake_server_main.py in its own process; stops when we close its stdin."""

    def __init__(self, stream_seconds: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "fake_server_main.py"),
             "--stream-seconds", str(stream_seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("http://"):
            self.stop()
            raise RuntimeError(f"the fake server did not start (said {line!r})")
        self.root = line

    def base_url(self, prefix: str) -> str:
        return f"{self.root}/{prefix}/api/v1"

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    uname = platform.uname()
    return {
        "machine": f"{uname.system} {uname.release} {uname.machine}",
        "cpu": _cpu_model(),
        "nproc": str(len(os.sched_getaffinity(0))),
        "python": f"{platform.python_version()} ({sys.executable})",
        "packages": ", ".join(f"{p} {_version(p)}" for p in
                              ("orcli-openrouter", "typer", "requests", "rich", "tiktoken")),
        "commit": _git("rev-parse", "--short", "HEAD") + (
            " (with uncommitted changes)" if _git("status", "--porcelain", "orcli") else ""),
        "load average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "missing"


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
