"""cProfile `orcli stream` at two answer sizes and look for what grows with the answer.

Issue 8 asks for one parse and one write per chunk, nothing that grows with the
answer, and big enough socket reads. Call counts under cProfile are exact even
though its timings are inflated, so this reports calls per chunk, bytes per
socket read, functions whose time per chunk rises with the answer's length, and
peak memory (from plain runs, without the profiler) at both sizes.
"""

from __future__ import annotations

import io
import pstats
import sys
from collections.abc import Callable
from pathlib import Path

from fake_server_main import (
    SMALL_STREAM_CHUNKS,
    STREAM_CHUNKS,
    stream_of,
    stream_pieces,
    stream_text,
)
from harness import Command, FakeServer, isolated_env, last_line, run_once

# Unpaced: the profile is about orcli's own work, not the server's pauses.
SIZES = (("stream-small-unpaced", SMALL_STREAM_CHUNKS), ("stream-unpaced", STREAM_CHUNKS))
# ru_maxrss of a child starts at its parent's peak (fork), so the peak comes from
# /proc/self/status (VmHWM, per address space) when the command exits.
PEAK_RSS = """\
import atexit, runpy, sys
out = sys.argv.pop(1)
def peak():
    with open('/proc/self/status') as status:
        kb = next(line.split()[1] for line in status if line.startswith('VmHWM'))
    with open(out, 'w') as f:
        f.write(kb)
atexit.register(peak)
del sys.argv[0]
if sys.argv[0] == '-m':
    del sys.argv[0]
    runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)
else:
    runpy.run_path(sys.argv[0], run_name='__main__')
"""
# Time spent waiting in these is the server's pace or the disk, not orcli's work.
IO_METHODS = ("recv", "read", "write", "flush", "select", "poll", "sleep", "wait", "acquire")
# Functions to count per chunk: (label, predicate on pstats' (file, line, name) key).
WATCHED: list[tuple[str, Callable[[tuple[str, int, str]], bool]]] = [
    # Every json.loads / JSONDecoder.decode goes through raw_decode.
    ("JSON parses (JSONDecoder.raw_decode)",
     lambda k: k[0].endswith("json/decoder.py") and k[2] == "raw_decode"),
    ("stdout writes", lambda k: k[2] == "<method 'write' of '_io.BufferedWriter' objects>"),
    ("stdout flushes", lambda k: k[2] == "<method 'flush' of '_io.BufferedWriter' objects>"),
    ("socket reads (recv_into)", lambda k: k[2] == "<method 'recv_into' of '_socket.socket' "
                                                  "objects>"),
    ("body reads (ChunkedReader.read1, or urllib3's _raw_read on the fallback path)",
     lambda k: (k[0].endswith("orcli/body.py") and k[2] == "read1")
     or (k[0].endswith("urllib3/response.py") and k[2] == "_raw_read")),
]
# A quadratic loop spends 4× the time per chunk on a 4× longer answer; noise stays
# well under this.
GROWTH_LIMIT = 2.5


def profile_stream(orcli: list[str], server: FakeServer, root: Path, results: Path,
                   log: Callable[[str], None]) -> str:
    """Profile, write results/profile-stream.txt, and return a short summary for the report."""
    stats: dict[int, pstats.Stats] = {}
    rss: dict[int, int] = {}
    for prefix, chunks in SIZES:
        env = isolated_env(root / "env", server.base_url(prefix))
        args = ["stream", "tell", "a", "story"]
        out_file = root / f"profile-{chunks}.prof"
        target = ["-m", "orcli"] if orcli[1:2] == ["-m"] else orcli[:1]
        profiled = Command("profile", [sys.executable, "-m", "cProfile", "-o", str(out_file),
                                       *target, *args], env, timeout=600)
        sample = run_once(profiled, root / "scratch", keep_output=True)
        if sample.code != 0 or sample.stdout.rstrip(b"\n") != stream_text(chunks).encode()\
                .rstrip(b"\n"):
            note = f"skipped: orcli stream failed ({last_line(sample.stderr)})"
            (results / "profile-stream.txt").write_text(note + "\n")
            return note
        stats[chunks] = pstats.Stats(str(out_file))
        peak_file = root / f"peak-{chunks}.txt"
        run_once(Command("peak", [sys.executable, "-c", PEAK_RSS, str(peak_file), *target,
                                  *args], env), root / "scratch")
        rss[chunks] = int(peak_file.read_text() or 0) if peak_file.exists() else 0
        log(f"  profiled {chunks} chunks")
    findings = analyse(stats, rss)
    top = io.StringIO()
    pstats.Stats(str(root / f"profile-{STREAM_CHUNKS}.prof"), stream=top) \
        .strip_dirs().sort_stats("tottime").print_stats(15)
    text = (f"orcli stream, {STREAM_CHUNKS:,}-chunk answer, stdout to a file, under cProfile\n\n"
            + "\n".join(findings) + "\n\nTop 15 by own time (tottime):\n" + top.getvalue())
    (results / "profile-stream.txt").write_text(text)
    return "\n".join(f"- {line}" for line in findings) + \
        "\n\n(full listing: benchmarks/results/profile-stream.txt)"


def analyse(stats: dict[int, pstats.Stats], rss: dict[int, int]) -> list[str]:
    big, small = STREAM_CHUNKS, SMALL_STREAM_CHUNKS
    raw_big: dict = stats[big].stats  # type: ignore[attr-defined]
    raw_small: dict = stats[small].stats  # type: ignore[attr-defined]
    lines = []
    for label, match in WATCHED:
        calls = sum(v[1] for k, v in raw_big.items() if match(k))
        lines.append(f"{label}: {calls:,} calls, {calls / big:.2f} per chunk")
    wire = sum(len(w) for w in stream_of(stream_pieces(big)))
    reads = sum(v[1] for k, v in raw_big.items() if WATCHED[3][1](k))  # recv_into
    if reads:
        lines.append(f"bytes per socket read: {wire / reads:,.0f} on average "
                     f"({wire:,} bytes of SSE in {reads:,} reads)")
    lines += growing_functions(raw_small, raw_big, small, big)
    grow_mb = (rss[big] - rss[small]) / 1024
    lines.append(f"peak RSS without the profiler: {rss[small] / 1024:.1f} MB at {small:,} chunks, "
                 f"{rss[big] / 1024:.1f} MB at {big:,} chunks ({grow_mb:+.1f} MB; the SSE "
                 f"itself grows by {wire * (1 - small / big) / 1e6:.1f} MB)")
    return lines


def growing_functions(small: dict, big: dict, n_small: int, n_big: int) -> list[str]:
    """Functions whose own time per chunk is clearly higher on the longer answer."""
    out = []
    for key, value in big.items():
        if key[0] == "~" and any(word in key[2] for word in IO_METHODS):
            continue
        tt_big = value[2]
        tt_small = small.get(key, (0, 0, 0.0))[2]
        if tt_big < 0.02 or tt_small <= 0:
            continue
        growth = (tt_big / n_big) / (tt_small / n_small)
        if growth >= GROWTH_LIMIT:
            name = f"{Path(key[0]).name}:{key[1]}({key[2]})"
            out.append(f"GROWS WITH THE ANSWER: {name}: {growth:.1f}× the time per chunk at "
                       f"{n_big:,} chunks than at {n_small:,}")
    return out or [f"nothing grows with the answer: no function with ≥ 20 ms own time spends "
                   f"≥ {GROWTH_LIMIT}× as long per chunk at {n_big:,} chunks as at "
                   f"{n_small:,} (waits in socket and file I/O left out)"]
