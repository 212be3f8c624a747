"""The hostile-input faults of issue 13 that live outside the HTTP layer, measured.

    python benchmarks/hostile_faults.py        # one row per fault: seconds, peak MB, exit

Each fault runs orcli as a fresh process (HOME and XDG dirs in a temp dir) under a
20 s time limit and a 3 GiB address-space limit, so a fault that would hang or eat
the machine shows as "killed" or a MemoryError instead. A loopback server plays the
hostile API. Peak memory is the child's ru_maxrss from wait4.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LIMIT_S = 20
LIMIT_AS = 3 * 1024**3
ESC = "\x1b]52;c;cHduZWQ=\x07\x1b]2;pwned\x07"


def answer(model: str, text: str) -> bytes:
    return json.dumps({"id": "gen-1", "model": model, "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 7, "cost": 0.00001}}).encode()


ROUTES: dict[str, tuple[int, bytes]] = {
    "/esc/chat/completions": (400, json.dumps({"error": {"code": 400, "message": ESC}}).encode()),
    "/forge/chat/completions": (200, answer("m\norcli: error: forged\n::warning::x", "hi")),
    "/huge/chat/completions": (200, answer("m" * 50_000_000, "hi")),
}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, body = ROUTES.get(self.path.removeprefix("/v1"), (404, b"{}"))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_AS, LIMIT_AS))


def measure(label: str, args: list[str], env: dict[str, str], stderr_path: str | None = None,
            check: str | None = None) -> list[str]:
    err = open(stderr_path, "wb") if stderr_path else subprocess.PIPE  # noqa: SIM115
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "orcli", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=err, env=env, preexec_fn=limit)
    timer = threading.Timer(LIMIT_S, proc.kill)
    timer.start()
    out, errb = proc.communicate()
    _, _, usage = os.wait4(proc.pid, os.WNOHANG) if proc.returncode is None else (0, 0, None)
    wall = time.perf_counter() - start
    timer.cancel()
    peak = PEAKS.pop(proc.pid, None)
    code = "killed" if proc.returncode == -9 else str(proc.returncode)
    text = (errb or b"").decode("utf-8", "replace")
    shown = text.strip().splitlines()[-1][:70] if text.strip() else ""
    escapes = "ESC in stderr" if "\x1b" in text else ""
    forged = "forged line" if "\norcli: error: forged" in text else ""
    return [label, f"{wall:.2f} s", f"{peak or 0:.0f} MB", code,
            " ".join(x for x in (escapes, forged, repr(shown)) if x)]


PEAKS: dict[int, float] = {}
_real_wait = subprocess.Popen._try_wait


def _wait(self: subprocess.Popen, flags: int):  # type: ignore[no-untyped-def]
    pid, status, usage = os.wait4(self.pid, flags)
    if pid:
        PEAKS[pid] = usage.ru_maxrss / 1024
    return pid, status


subprocess.Popen._try_wait = _wait  # type: ignore[method-assign]


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="orcli-faults-"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    base = {"PATH": os.environ["PATH"], "HOME": str(root / "home"), "LANG": "C.UTF-8",
            "XDG_CONFIG_HOME": str(root / "config"), "XDG_CACHE_HOME": str(root / "cache")}
    fifo = root / "fifo"
    os.mkfifo(fifo)
    zero_link = root / "zero.toml"
    zero_link.symlink_to("/dev/zero")
    huge = root / "huge.toml"
    with huge.open("wb") as f:
        f.write(b"# " + b"x" * (200 * 1024 * 1024) + b"\n")
    deep = root / "deep.toml"
    deep.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    rows = []
    for label, path in (("config /dev/zero", "/dev/zero"), ("config FIFO", str(fifo)),
                        ("config symlink to /dev/zero", str(zero_link)),
                        ("config 200 MB file", str(huge)), ("config nested 100k deep", str(deep))):
        rows.append(measure(label, ["price", "--input-tokens", "1"], base | {"ORCLI_CONFIG": path}))
    rows += cache_faults(root, base)
    dead = base | {"OPENROUTER_BASE_URL": "http://127.0.0.1:9/v1", "ORCLI_RETRIES": "0"}
    rows.append(measure("cache fetched_at NaN + outage", ["models"],
                        write_cache(root / "nan", dead, fetched_at="NaN")))
    rows.append(measure("created 1e20 (models --sort created)", ["models", "--sort", "created"],
                        write_cache(root / "c20", dead, created=10**20)))
    rows.append(measure("created 1e20 (models show)", ["models", "show", "x/m"],
                        write_cache(root / "c20s", dead, created=10**20)))
    srv = base | {"OPENROUTER_BASE_URL": url, "OPENROUTER_API_KEY": "sk-x", "ORCLI_RETRIES": "0"}
    rows.append(measure("OSC 52 + OSC 2 in an error (piped stderr)",
                        ["chat", "hi"], srv | {"OPENROUTER_BASE_URL": url + "/esc"}))
    rows.append(measure("newline in the served model name", ["chat", "--usage", "hi"],
                        srv | {"OPENROUTER_BASE_URL": url + "/forge"}))
    rows.append(measure("50 MB served model name", ["chat", "--usage", "hi"],
                        srv | {"OPENROUTER_BASE_URL": url + "/huge"}))
    rows.append(measure("stderr on a full disk (2>/dev/full)", ["chat", "--usage", "hi"],
                        srv | {"OPENROUTER_BASE_URL": url + "/forge"}, stderr_path="/dev/full"))
    rows.append(measure("price -m nosuch/model", ["price", "-m", "x/mm", "--input-tokens", "1"],
                        write_cache(root / "nosuch", dead)))
    server.shutdown()
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=False))
              + " | " + row[4] + " |")
    return 0


def write_cache(home: Path, env: dict[str, str], fetched_at: object = None,
                created: object = 1_700_000_000) -> dict[str, str]:
    """A cache for env's base URL holding one model, through orcli's own writer."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from orcli.models import catalog

    cache = home / "cache"
    model = {"id": "x/m", "name": "M", "created": created, "context_length": 1000,
             "pricing": {"prompt": "0.000001", "completion": "0.000002"}}
    path = catalog.write_cache(env["OPENROUTER_BASE_URL"], [model], cache_dir=cache / "orcli",
                               now=time.time() - 7200)
    if fetched_at is not None:
        raw = json.loads(path.read_text())
        path.write_text(json.dumps(raw).replace(f'"fetched_at": {raw["fetched_at"]}',
                                                f'"fetched_at": {fetched_at}'))
    return env | {"XDG_CACHE_HOME": str(cache)}


def cache_faults(root: Path, base: dict[str, str]) -> list[list[str]]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from orcli.models import catalog

    rows = []
    env = base | {"OPENROUTER_BASE_URL": "http://127.0.0.1:9/v1", "ORCLI_RETRIES": "0"}
    for label, make in (("cache FIFO", lambda p: os.mkfifo(p)),
                        ("cache symlink to /dev/zero", lambda p: p.symlink_to("/dev/zero")),
                        ("cache 300 MB file", lambda p: p.write_bytes(b" " * (300 * 1024**2)))):
        cache = root / label.replace(" ", "_") / "cache"
        path = catalog.cache_path(env["OPENROUTER_BASE_URL"], cache / "orcli")
        path.parent.mkdir(parents=True)
        make(path)
        rows.append(measure(label + " (chat -m x/m --dry-run)", ["chat", "-m", "x/m", "--dry-run",
                                                               "hi"],
                            env | {"XDG_CACHE_HOME": str(cache)}))
    return rows


if __name__ == "__main__":
    sys.exit(main())
