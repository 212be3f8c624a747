"""orcli's performance benchmarks (issue 8): each case against its floor, A/B interleaved.

    python benchmarks/run.py            # ~15 rounds per quick case, 5 for the stream
    python benchmarks/run.py --quick    # fewer rounds, for a quick look
    python benchmarks/run.py --rounds 30 --only startup chat

Prints a table of medians and ratios of medians, and writes it to
benchmarks/results/<timestamp>.md and benchmarks/latest.md.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from batch_case import batch_cases
from catalog_scale import synthetic_catalog
from fake_server_main import (
    CATALOG_SIZE,
    CHAT_ANSWER,
    ESTIMATED_MODEL,
    FIRST_TOKEN,
    STREAM_CHUNKS,
    STREAM_SECONDS,
    stream_text,
)
from harness import (
    DUMMY_KEY,
    HERE,
    Command,
    FakeServer,
    Series,
    isolated_env,
    machine,
    run_once,
    verify,
)
from ledger_cases import (
    chat_estimate_commands,
    chat_ledger_commands,
    make_calibrated_setup,
    make_chat_ledger_setup,
    make_spend_setup,
    spend_commands,
)
from profile_stream import profile_stream

PY = sys.executable
IMPORT_TYPER = [PY, "-c", "import typer"]
PRICE_INPUT_BYTES = 1024 * 1024
BIG_INPUT_BYTES = 30 * 1024 * 1024  # issue 14's memory and refusal cases
FIRST_BYTES = 2 * 1024 * 1024  # the refusal's floor counts this much of the same text


def orcli_argv() -> list[str]:
    """The console script a user runs, next to this Python; else `python -m orcli`."""
    script = Path(PY).parent / "orcli"
    return [str(script)] if script.exists() else [PY, "-m", "orcli"]


@dataclass
class Comparison:
    metric: str  # "wall", "cpu", "rss" (peak RSS, MiB) or "first" (time to first byte)
    a: str  # command keys in Case.commands
    b: str
    target: float | None  # None: shown for information only
    ceiling: float | None = None  # A's own limit in the metric's unit (rss: MiB)
    within_ms: float | None = None  # also a bound on A's median, in milliseconds


@dataclass
class Case:
    name: str
    commands: dict[str, Command]
    comparisons: list[Comparison]
    rounds: int
    setup: Callable[[Path], str | None] | None = None  # warms caches; returns a problem
    series: dict[str, Series] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # command key -> why it failed


# ---- output checks: a broken command must not give a fast, wrong number ---------------

def expect_exact(text: str) -> Callable[[bytes, bytes], str | None]:
    want = text.encode()

    def check(out: bytes, err: bytes) -> str | None:
        if out in (want, want + b"\n"):
            return None
        return f"wrong output ({len(out)} bytes, {out[:60]!r}...; expected {len(want)} bytes)"

    return check


def expect_prefix(prefix: bytes) -> Callable[[bytes, bytes], str | None]:
    def check(out: bytes, err: bytes) -> str | None:
        return None if out.startswith(prefix) else f"unexpected output {out[:60]!r}"

    return check


def expect_sse(out: bytes, err: bytes) -> str | None:
    if out.count(b"\ndata: ") >= STREAM_CHUNKS and out.rstrip().endswith(b"data: [DONE]"):
        return None
    return f"incomplete stream ({len(out)} bytes)"


def expect_story(out: bytes, err: bytes) -> str | None:
    """The raw /ttft stream, whole: its first token first, [DONE] last."""
    if out.startswith(b"data: ") and FIRST_TOKEN.encode() in out[:1000] and \
            out.rstrip().endswith(b"data: [DONE]"):
        return None
    return f"unexpected stream {out[:60]!r}"


def expect_model_lines(out: bytes, err: bytes) -> str | None:
    lines = out.decode("utf-8", "replace").splitlines()
    if len(lines) == CATALOG_SIZE and all(len(line.split("\t")) >= 5 for line in lines):
        return None
    return f"expected {CATALOG_SIZE} tab-separated lines, got {len(lines)}: {lines[:1]!r}"


def expect_output(out: bytes, err: bytes) -> str | None:
    return None if out.strip() else "no output"


def expect_exact_count(out: bytes, err: bytes) -> str | None:
    try:
        record = json.loads(out.splitlines()[0])
    except (ValueError, IndexError):
        return f"--json output is not JSON: {out[:60]!r}"
    if record.get("token_count") != "exact":
        return f"token count is {record.get('token_count')!r}, not exact"
    return None


# ---- the cases -----------------------------------------------------------------------

def write_inputs(root: Path) -> dict[str, Path]:
    """Stdin files: `hi` for chat, prose-like text of 1 MiB and 30 MiB, and the 30's first 2."""
    hi = root / "hi.txt"
    hi.write_text("hi\n")
    text = prose(BIG_INPUT_BYTES)
    paths = {"hi": hi}
    for name, size in (("big", PRICE_INPUT_BYTES), ("huge", BIG_INPUT_BYTES),
                       ("first", FIRST_BYTES)):
        paths[name] = root / f"{name}.txt"
        paths[name].write_bytes(text[:size].decode("utf-8", "ignore").encode())
    return paths


def prose(size: int) -> bytes:
    """Prose-like text of `size` bytes or a little more; the same for every run."""
    words = ("the of and to in a is that for it as was with be by on not this are or from at "
             "which but have an they you were her she there one all we their has would when "
             "tokenizer benchmark catalog stream answer request server client python function "
             "value return because through between however example different important "
             "following without government information development experience 2025 42 "
             "3.14 naïve café Zürich").split()
    rng = random.Random(5)
    parts: list[str] = []
    written = 0
    while written < size:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(6, 24)))
        piece = sentence[0].upper() + sentence[1:] + (".\n\n" if rng.random() < 0.15 else ". ")
        parts.append(piece)
        written += len(piece.encode())
    return "".join(parts).encode()


def build_cases(server: FakeServer, root: Path, rounds: int, stream_rounds: int) -> list[Case]:
    inputs = write_inputs(root)
    orcli = orcli_argv()
    env_plain = isolated_env(root / "env", server.base_url("chat"))
    typer_floor = Command('python -c "import typer"', IMPORT_TYPER, env_plain)
    return [
        Case("startup", {
            "orcli": Command("orcli --version", orcli + ["--version"], env_plain,
                             check=expect_prefix(b"orcli ")),
            "floor": typer_floor,
        }, [Comparison("wall", "orcli", "floor", 1.2)], rounds),
        chat_case(orcli, env_plain, inputs["hi"], rounds),
        stream_case(orcli, server, root, stream_rounds, paced=True),
        stream_case(orcli, server, root, stream_rounds, paced=False),
        first_token_case(orcli, server, root, rounds),
        models_case(orcli, server, root, typer_floor, rounds),
        price_case(orcli, server, root, typer_floor, inputs["big"], rounds),
        catalog_case(orcli, server, root, inputs["hi"], rounds),
        price_memory_case(orcli, server, root, inputs["huge"], rounds),
        refusal_case(orcli, env_plain, inputs["huge"], inputs["first"], rounds),
        spend_case(orcli, env_plain, root, typer_floor, rounds),
        chat_ledger_case(orcli, env_plain, inputs["hi"], root, rounds),
        chat_estimate_case(orcli, server, root, inputs["hi"], rounds),
        send_memory_case(orcli, env_plain, inputs["huge"], rounds),
        *batch_cases(orcli, PY, server, root, max(3, rounds // 3)),
    ]


def spend_case(orcli: list[str], env: dict[str, str], root: Path, floor: Command,
               rounds: int) -> Case:
    """`orcli spend` over 100,000 records: well under a second, whatever the floor says."""
    commands = spend_commands(orcli, env, root) | {"floor": floor}
    return Case("spend", commands, [Comparison("wall", "orcli", "floor", None, within_ms=500),
                                    Comparison("wall", "tag", "floor", None, within_ms=500)],
                rounds, setup=make_spend_setup(root))


def chat_ledger_case(orcli: list[str], env: dict[str, str], hi: Path, root: Path,
                     rounds: int) -> Case:
    """The ledger write after a chat must not be felt: on within 1.1x of ORCLI_LEDGER=off."""
    commands = chat_ledger_commands(orcli, env, hi, root, expect_exact(CHAT_ANSWER))
    return Case("chat-ledger", commands, [Comparison("wall", "orcli", "off", 1.1)], rounds,
                setup=make_chat_ledger_setup(commands["orcli"], root))


def chat_estimate_case(orcli: list[str], server: FakeServer, root: Path, hi: Path,
                       rounds: int) -> Case:
    """The ledger after a chat to a model counted by estimate, its calibration full."""
    env = isolated_env(root / "env-est", server.base_url("chat-est"))
    commands = chat_estimate_commands(orcli, env, hi, root, ESTIMATED_MODEL,
                                      expect_exact(CHAT_ANSWER))
    return Case("chat-ledger-estimate", commands, [Comparison("wall", "orcli", "off", 1.1)],
                rounds, setup=make_calibrated_setup(root, ESTIMATED_MODEL))


def send_memory_case(orcli: list[str], env: dict[str, str], huge: Path, rounds: int) -> Case:
    """Peak RSS of sending 30 MiB of stdin, against the same POST made with bare requests.

    The model is one the catalog does not know, so no context guard refuses it.
    """
    check = expect_exact(CHAT_ANSWER)
    return Case("send-30mb", {
        "orcli": Command("orcli chat -m <unknown model> < 30 MiB", orcli + [
            "chat", "-m", "vendor/unlisted"], env, stdin=huge, check=check, measure_rss=True),
        "floor": Command("bare requests POST < 30 MiB (floors/bare_post.py)",
                         [PY, str(HERE / "floors" / "bare_post.py")], env, stdin=huge,
                         check=check, measure_rss=True),
    }, [Comparison("rss", "orcli", "floor", 1.05)], max(3, rounds // 3))


def chat_case(orcli: list[str], env: dict[str, str], hi: Path, rounds: int) -> Case:
    check = expect_exact(CHAT_ANSWER)
    return Case("chat", {
        "orcli": Command("echo hi | orcli chat", orcli + ["chat"], env, stdin=hi, check=check),
        "floor": Command("bare requests POST (floors/bare_post.py)",
                         [PY, str(HERE / "floors" / "bare_post.py")], env, stdin=hi,
                         check=check),
    }, [Comparison("wall", "orcli", "floor", 1.4)], rounds)


def stream_case(orcli: list[str], server: FakeServer, root: Path, rounds: int,
                paced: bool) -> Case:
    """The paced stream is the target; the unpaced one (same bytes, no pauses) is for info."""
    url = server.base_url("stream" if paced else "stream-unpaced")
    env = isolated_env(root / "env", url)
    body = root / "stream-body.json"
    body.write_text(json.dumps({"model": "mistralai/devstral-2512", "stream": True,
                                "messages": [{"role": "user", "content": "tell a story"}]}))
    curl = shutil.which("curl")
    commands = {
        "orcli": Command(f"orcli stream ({STREAM_CHUNKS:,} chunks) > file",
                         orcli + ["stream", "tell", "a", "story"], env,
                         check=expect_exact(stream_text(STREAM_CHUNKS))),
        "curl": Command("curl -sN > file", [
            curl or "curl", "-sN", "-X", "POST", url + "/chat/completions",
            "-H", "Content-Type: application/json", "-H", f"Authorization: Bearer {DUMMY_KEY}",
            "--data-binary", f"@{body}"], env, check=expect_sse),
        "passthrough": Command("Typer+requests raw passthrough (floors/passthrough.py)",
                               [PY, str(HERE / "floors" / "passthrough.py"), "tell", "a",
                                "story"], env, check=expect_sse),
    }
    name = "stream" if paced else "stream-unpaced"
    case = Case(name, commands, [Comparison("wall", "orcli", "curl", 1.6 if paced else None),
                                 Comparison("cpu", "orcli", "passthrough",
                                            1.5 if paced else None)], rounds)
    if curl is None:
        case.problems["curl"] = "curl not installed (`which curl` found nothing)"
    return case


def first_token_case(orcli: list[str], server: FakeServer, root: Path, rounds: int) -> Case:
    """Time from start to the first token on stdout, the rest of the answer held back."""
    env = isolated_env(root / "env-ttft", server.base_url("ttft"))
    url = server.base_url("ttft")
    body = root / "ttft-body.json"
    body.write_text(json.dumps({"model": "mistralai/devstral-2512", "stream": True,
                                "messages": [{"role": "user", "content": "once"}]}))
    curl = shutil.which("curl")
    commands = {
        "orcli": Command("orcli stream | first byte", orcli + ["stream", "once"], env,
                         check=expect_exact(FIRST_TOKEN + " upon a time."),
                         measure_first_byte=True),
        "passthrough": Command("Typer+requests raw passthrough | first byte",
                               [PY, str(HERE / "floors" / "passthrough.py"), "once"], env,
                               check=expect_story, measure_first_byte=True),
        "curl": Command("curl -sN | first byte", [
            curl or "curl", "-sN", "-X", "POST", url + "/chat/completions",
            "-H", "Content-Type: application/json", "-H", f"Authorization: Bearer {DUMMY_KEY}",
            "--data-binary", f"@{body}"], env, check=expect_story, measure_first_byte=True),
    }
    case = Case("first-token", commands, [Comparison("first", "orcli", "passthrough", 1.2),
                                          Comparison("first", "orcli", "curl", None)], rounds)
    if curl is None:
        case.problems["curl"] = "curl not installed (`which curl` found nothing)"
    return case


def models_case(orcli: list[str], server: FakeServer, root: Path, floor: Command,
                rounds: int) -> Case:
    env = isolated_env(root / "env", server.base_url("catalog"))
    command = Command(f"orcli models (piped, cached {CATALOG_SIZE}-model catalog)",
                      orcli + ["models"], env, check=expect_model_lines)

    def warm_cache(scratch: Path) -> str | None:
        problem = verify(command, scratch)
        cache = Path(env["XDG_CACHE_HOME"]) / "orcli"
        if problem is None and not any(cache.glob("*.json")):
            problem = f"no catalog cache written under {cache}"
        return problem

    return Case("models", {"orcli": command, "floor": floor},
                [Comparison("wall", "orcli", "floor", 1.5)], rounds, setup=warm_cache)


def price_case(orcli: list[str], server: FakeServer, root: Path, floor: Command, big: Path,
               rounds: int) -> Case:
    env = isolated_env(root / "env", server.base_url("catalog"))
    command = Command("orcli price < 1 MiB text (exact count)", orcli + ["price"], env,
                      stdin=big, check=expect_output)
    as_json = Command("orcli price --json", orcli + ["price", "--json"], env, stdin=big,
                      check=expect_exact_count)
    return Case("price", {"orcli": command, "floor": floor},
                [Comparison("wall", "orcli", "floor", 5.0)], rounds,
                setup=lambda scratch: verify(as_json, scratch))


def catalog_case(orcli: list[str], server: FakeServer, root: Path, hi: Path,
                 rounds: int) -> Case:
    """The context guard of a catalog model (the index) against the built-in model's."""
    builtin_env = isolated_env(root / "env", server.base_url("chat"))
    commands = {"builtin": Command("echo hi | orcli chat --dry-run (built-in model)",
                                   orcli + ["chat", "--dry-run"], builtin_env, stdin=hi,
                                   check=expect_prefix(b"{"))}
    envs = {}
    for size in (4_000, 40_000):
        env = isolated_env(root / f"env-catalog-{size}", server.base_url(f"catalog-{size}"))
        envs[size] = env
        model = f"bench/model-{size - 1:05d}"
        commands["orcli" if size == 40_000 else f"{size}"] = Command(
            f"echo hi | orcli chat --dry-run -m <catalog model> ({size:,} cached)",
            orcli + ["chat", "--dry-run", "-m", model], env, stdin=hi,
            check=expect_prefix(b"{"))

    def write_caches(scratch: Path) -> str | None:
        sys.path.insert(0, str(HERE.parent))
        from orcli.models import catalog

        for size, env in envs.items():
            catalog.write_cache(env["OPENROUTER_BASE_URL"], synthetic_catalog(size),
                                cache_dir=Path(env["XDG_CACHE_HOME"]) / "orcli",
                                now=time.time())
        return None

    return Case("catalog", commands, [Comparison("wall", "orcli", "builtin", 1.3),
                                      Comparison("wall", "orcli", "4000", 1.1)], rounds,
                setup=write_caches)


def price_memory_case(orcli: list[str], server: FakeServer, root: Path, huge: Path,
                      rounds: int) -> Case:
    """Peak RSS of `orcli price` on 30 MiB, against a script holding the input as bytes and text."""
    env = isolated_env(root / "env", server.base_url("catalog"))
    floor = [PY, "-c", "import sys; data = sys.stdin.buffer.read(); text = data.decode()"]
    return Case("price-30mb", {
        "orcli": Command("orcli price < 30 MiB text", orcli + ["price"], env, stdin=huge,
                         check=expect_output, measure_rss=True),
        "floor": Command("python: read stdin, decode it", floor, env, stdin=huge,
                         measure_rss=True),
    }, [Comparison("rss", "orcli", "floor", None, ceiling=150)], max(3, rounds // 3))


def refusal_case(orcli: list[str], env: dict[str, str], huge: Path, first: Path,
                 rounds: int) -> Case:
    """The context guard refusing 30 MiB, against counting the first 2 MiB of the same text."""
    def refused(out: bytes, err: bytes) -> str | None:
        return None if b"counting stopped there" in err else f"unexpected stderr {err[-80:]!r}"

    return Case("refuse-30mb", {
        "orcli": Command("orcli chat --dry-run < 30 MiB (refused, exit 8)",
                         orcli + ["chat", "--dry-run"], env, stdin=huge, check=refused,
                         expect_code=8),
        "floor": Command("orcli price < its first 2 MiB", orcli + ["price"], env, stdin=first,
                         check=expect_output),
    }, [Comparison("wall", "orcli", "floor", 1.3)], rounds)


# ---- running ---------------------------------------------------------------------------

def run_case(case: Case, scratch: Path, log: Callable[[str], None]) -> None:
    """Check each command once (this also warms caches), then time the good ones, interleaved."""
    if case.setup is not None:
        problem = case.setup(scratch)
        if problem:
            case.problems["orcli"] = problem
    for key, cmd in case.commands.items():
        if key not in case.problems:
            problem = verify(cmd, scratch)
            if problem:
                case.problems[key] = problem
    for key, problem in case.problems.items():
        log(f"  {case.name}: {case.commands[key].label}: not measured: {problem}")
    good = {k: c for k, c in case.commands.items() if k not in case.problems}
    case.series = {key: Series() for key in good}
    if "orcli" not in good:
        return
    for i in range(case.rounds):
        for key, cmd in good.items():
            case.series[key].samples.append(run_once(cmd, scratch))
        log(f"  {case.name}: round {i + 1}/{case.rounds}")


def comparison_row(case: Case, comp: Comparison) -> list[str]:
    a, b = case.commands[comp.a], case.commands[comp.b]
    row = [case.name, f"`{a.label}`", f"`{b.label}`", comp.metric]
    target = f"≤ {comp.target:g}×" if comp.target else "(info)"
    if comp.within_ms:
        target = f"A ≤ {comp.within_ms:g} ms" + (f", {target}" if comp.target else "")
    failed = case.problems.get(comp.a) or case.problems.get(comp.b)
    if failed:
        who = a.label if comp.a in case.problems else b.label
        verdict = "n/a" if comp.b in case.problems and comp.a not in case.problems else "FAILED"
        return row + ["–", "–", "–", target, f"{verdict}: {who}: {failed}"]
    ma, mb = case.series[comp.a].median(comp.metric), case.series[comp.b].median(comp.metric)
    ratio = ma / mb
    fits = (not comp.target or ratio <= comp.target) and (
        not comp.within_ms or ma * 1000 <= comp.within_ms)
    verdict = "–" if not (comp.target or comp.within_ms) else "ok" if fits else "over target"
    if comp.ceiling is not None:
        target = f"A ≤ {comp.ceiling:g} MiB"
        verdict = "ok" if ma <= comp.ceiling else "over target"
    return row + [figure(ma, comp.metric), figure(mb, comp.metric), f"{ratio:.2f}×", target,
                  verdict]


def figure(value: float, metric: str) -> str:
    """A median as the table shows it: MiB for memory, else milliseconds."""
    return f"{value:.0f} MiB" if metric == "rss" else f"{value * 1000:.0f} ms"


def detail_rows(case: Case) -> list[list[str]]:
    rows = []
    for key, series in case.series.items():
        if not series.samples:
            continue
        lo, hi = series.spread("wall")
        rows.append([case.name, f"`{case.commands[key].label}`", str(len(series.samples)),
                     f"{series.median('wall') * 1000:.0f} ms",
                     f"{lo * 1000:.0f}–{hi * 1000:.0f} ms",
                     f"{series.median('cpu') * 1000:.0f} ms",
                     f"{series.median('rss'):.0f} MiB" if series.median("rss") else "–"])
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    # A shell pipe inside a cell would end the cell.
    return "\n".join(lines + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"
                              for row in rows])


def report(cases: list[Case], info: dict[str, str], elapsed: float, profile_note: str,
           stream_seconds: float) -> str:
    main_rows = [comparison_row(c, comp) for c in cases for comp in c.comparisons]
    details = [row for c in cases for row in detail_rows(c)]
    parts = [
        f"# orcli benchmarks — {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        "",
        "Ratios are of medians, A/B interleaved in one run, each run a fresh process "
        "(stdin and stdout are files, not a terminal). wall = start to exit; "
        "cpu = user + system time of that process (os.wait4). "
        f"`stream`: the fake server sends the {STREAM_CHUNKS:,} chunks at a steady pace "
        f"over {stream_seconds:g} s, as a real server trickles them; `stream-unpaced`: "
        "the same bytes as fast as it can (for information).",
        "",
        table(["case", "A (orcli)", "B (floor)", "metric", "A median", "B median", "A/B",
               "target", "result"], main_rows),
        "",
        "## All commands",
        "",
        table(["case", "command", "runs", "wall median", "wall min–max", "cpu median",
               "peak RSS median"], details),
        "",
        "## Machine",
        "",
        *[f"- {key}: {value}" for key, value in info.items()],
        f"- run took {elapsed:.0f} s",
        *load_note(info),
        "",
        "## Streaming profile",
        "",
        profile_note,
        "",
    ]
    return "\n".join(parts)


def load_note(info: dict[str, str]) -> list[str]:
    load = float(info["load average"].split()[0])
    if load < 0.5:
        return []
    return [f"- note: the load average was {load:.2f} when the run began: other work was "
            "using the CPUs, so these ratios are noisier than on an idle machine"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, help="rounds per quick case (default 15)")
    parser.add_argument("--stream-rounds", type=int, help="rounds for the stream case (5)")
    parser.add_argument("--quick", action="store_true", help="5 rounds, 2 for the stream")
    parser.add_argument("--only", nargs="+", metavar="CASE",
                        choices=["startup", "chat", "stream", "stream-unpaced", "first-token",
                                 "models",
                                 "price", "catalog", "price-30mb", "refuse-30mb", "spend",
                                 "chat-ledger", "chat-ledger-estimate", "send-30mb", "batch",
                                 "batch-memory", "batch-xargs"])
    parser.add_argument("--stream-seconds", type=float, default=STREAM_SECONDS,
                        help="how long the fake server takes to send the paced stream "
                             "(default %(default)s s)")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 15)
    stream_rounds = args.stream_rounds or (2 if args.quick else max(2, min(5, rounds // 3)))
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    started = time.perf_counter()
    info = machine()
    server = FakeServer(args.stream_seconds)
    try:
        with tempfile.TemporaryDirectory(prefix="orcli-bench-") as tmp:
            root = Path(tmp)
            scratch = root / "scratch"
            scratch.mkdir()
            cases = build_cases(server, root, rounds, stream_rounds)
            cases = [c for c in cases if not args.only or c.name in args.only]
            for case in cases:
                log(f"{case.name}: checking, then {case.rounds} rounds")
                run_case(case, scratch, log)
            profile_note = "(skipped)"
            if not args.no_profile and (not args.only or any("stream" in c for c in args.only)):
                log("stream: profiling")
                profile_note = profile_stream(orcli_argv(), server, root, results, log)
    finally:
        server.stop()
    text = report(cases, info, time.perf_counter() - started, profile_note, args.stream_seconds)
    print(text)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (results / f"{stamp}.md").write_text(text)
    written = f"benchmarks/results/{stamp}.md"
    if not args.only:  # latest.md is the committed record: only whole runs go there
        (HERE / "latest.md").write_text(text)
        written += " and benchmarks/latest.md"
    log(f"written: {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
