"""Terminal versus pipe: rendered and coloured on a terminal, clean bytes in a pipe.

The terminal cases run orcli as a real process with its stdout and/or stderr on
a pseudo-terminal (`os.openpty`), so isatty, the terminal size and rich's own
detection all see what a user's shell would give them; nothing is patched.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from orcli import render
from orcli.models.pricing import format_usd
from orcli.render.iostreams import Streams
from tests.conftest import API_KEY
from tests.fake_openrouter import (
    DONE,
    FakeOpenRouter,
    Reply,
    chunk,
    completion,
    data,
    stream_of,
    usage_chunk,
)

CATALOG = json.loads((Path(__file__).parent / "data" / "models.json").read_text("utf-8"))
MARKDOWN = "Some **bold** words.\n\n- one\n- two\n"
ESC = "\x1b"
DIM = "\x1b[2m"
BOLD = "\x1b[1m"
WINDOW = (24, 100)  # rows, columns


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def env(isolated_env: dict[str, str], server: FakeOpenRouter) -> dict[str, str]:
    """What a user's terminal session would have, isolated, pointed at the fake server."""
    return isolated_env | {"OPENROUTER_API_KEY": API_KEY, "OPENROUTER_BASE_URL": server.base_url,
                           "TERM": "xterm-256color", "LANG": "C.UTF-8"}


def _pty() -> tuple[int, int]:
    master, slave = os.openpty()
    termios.tcsetwinsize(slave, WINDOW)
    return master, slave


def run_orcli(args: list[str], env: dict[str, str], stdout_tty: bool = True,
              stderr_tty: bool = True, same_tty: bool = False, timeout: float = 30) -> Run:
    """Run orcli with stdout/stderr on pseudo-terminals or pipes; stdin is a terminal.

    With `same_tty` stdout and stderr share one terminal, as in a real shell, so
    the order of what each wrote is visible. "\\r\\n" from the terminal's output
    processing is read back as "\\n".
    """
    stdin_master, stdin_slave = _pty()
    out = _pty() if stdout_tty else None
    err = out if same_tty else (_pty() if stderr_tty else None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "orcli", *args], env=env, stdin=stdin_slave,
        stdout=out[1] if out else subprocess.PIPE, stderr=err[1] if err else subprocess.PIPE)
    for fd in {stdin_slave, *(p[1] for p in (out, err) if p)}:
        os.close(fd)  # the child holds them now; the master sees EOF when it exits
    sources = {"stdout": out[0] if out else proc.stdout.fileno(),
               "stderr": err[0] if err else proc.stderr.fileno()}
    try:
        captured = _read_all(set(sources.values()), time.monotonic() + timeout)
        code = proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
        for fd in {stdin_master, *(p[0] for p in (out, err) if p)}:
            os.close(fd)
    text = {name: captured[fd].decode("utf-8", "replace").replace("\r\n", "\n")
            for name, fd in sources.items()}
    assert API_KEY not in text["stdout"] + text["stderr"]
    return Run(code, text["stdout"], "" if same_tty else text["stderr"])


def _read_all(fds: set[int], deadline: float) -> dict[int, bytes]:
    """Everything written to these fds until each is closed (EOF, or EIO for a pty)."""
    captured = {fd: b"" for fd in fds}
    open_fds = set(fds)
    while open_fds:
        assert time.monotonic() < deadline, "orcli did not finish in time"
        ready, _, _ = select.select(list(open_fds), [], [], 0.1)
        for fd in ready:
            try:
                piece = os.read(fd, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                piece = b""
            if piece:
                captured[fd] += piece
            else:
                open_fds.discard(fd)
    return captured


def run_piped(args: list[str], env: dict[str, str]) -> Run:
    """Run orcli with stdin, stdout and stderr all pipes, as in a CI job."""
    proc = subprocess.run([sys.executable, "-m", "orcli", *args], input=b"", env=env,
                          capture_output=True, timeout=30)
    return Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def delayed_json(server: FakeOpenRouter, body: dict, delay: float) -> None:
    """A whole answer that starts only after `delay` seconds (chunked, so the pause is real)."""
    server.reply(Reply(200, {"Content-Type": "application/json"},
                       [delay, json.dumps(body).encode()], framing="chunked"))


# ---- chat on a terminal ----------------------------------------------------------


def test_chat_renders_markdown_on_a_terminal(server: FakeOpenRouter, env: dict) -> None:
    server.json(completion(MARKDOWN))
    result = run_orcli(["chat", "hi"], env)
    assert result.code == 0, result.stderr
    assert "**" not in result.stdout
    assert f"{BOLD}bold" in result.stdout
    assert "•" in result.stdout and "one" in result.stdout
    assert " \n" not in result.stdout, "rich's padding to the terminal width was left in"


def test_usage_line_is_dimmed_on_a_terminal(server: FakeOpenRouter, env: dict) -> None:
    server.json(completion("Hello!"))
    result = run_orcli(["chat", "hi"], env)
    assert result.code == 0
    usage = [line for line in result.stderr.splitlines() if "tokens" in line]
    assert len(usage) == 1 and usage[0].startswith(f"{DIM}orcli: mistralai/devstral-2512: 3 in")


def test_plain_prints_the_answer_as_is_on_a_terminal(server: FakeOpenRouter, env: dict) -> None:
    server.json(completion(MARKDOWN))
    result = run_orcli(["chat", "--plain", "hi"], env)
    assert result.stdout == MARKDOWN


def test_rendering_keeps_the_models_line_breaks() -> None:
    streams = Streams.for_test(tty=True, env={"COLUMNS": "60"})
    render.write_answer(streams, "Roses are **red**\nViolets are blue\n", markdown=True)
    lines = streams.stdout.getvalue().decode().splitlines()
    assert lines == [f"Roses are {BOLD}red{render.RESET}", "Violets are blue"]


@pytest.mark.parametrize("flag", [["--json-object"], ["--schema", '{"type": "object"}']])
def test_structured_output_is_printed_as_is_on_a_terminal(flag: list[str], server, run) -> None:
    answer = '{\n  "name": "**Ada**",\n  "age": 36\n}'
    server.json(completion(answer))
    assert run("chat", *flag, "hi", tty=True).stdout == answer + "\n"


def test_reasoning_is_dimmed_on_a_terminal(server: FakeOpenRouter, env: dict) -> None:
    server.json(completion("42", reasoning="Let me think."))
    result = run_orcli(["chat", "--show-reasoning", "hi"], env)
    assert f"{DIM}Let me think.{render.RESET}" in result.stderr
    assert "think" not in result.stdout


def test_stream_writes_raw_text_on_a_terminal(server: FakeOpenRouter, env: dict) -> None:
    # Rendering Markdown live would have to hold text back; stream stays raw.
    server.sse(stream_of(["Some **bold**", " words."]))
    result = run_orcli(["stream", "hi"], env)
    assert result.code == 0
    assert result.stdout == "Some **bold** words.\n"
    assert DIM + "orcli: mistralai/devstral-2512" in result.stderr


def test_stream_reasoning_is_dimmed_on_a_terminal(server: FakeOpenRouter, env: dict) -> None:
    server.sse([data(chunk(reasoning="Hmm")), data(chunk("42", finish_reason="stop")),
                data(usage_chunk()), DONE])
    result = run_orcli(["stream", "--show-reasoning", "hi"], env)
    assert f"{DIM}Hmm{render.RESET}" in result.stderr
    assert result.stdout == "42\n"


def test_models_and_price_tables_on_a_terminal(server: FakeOpenRouter, env: dict) -> None:
    server.json(CATALOG)
    models = run_orcli(["models", "gpt"], env)
    assert models.code == 0 and "openai/gpt-4o-mini" in models.stdout
    assert BOLD in models.stdout and "\t" not in models.stdout
    price = run_orcli(["price", "hello"], env)
    assert price.code == 0 and BOLD in price.stdout and "exact" in price.stdout


LONG_ID = "vendor/an-unusually-long-model-identifier-2512:extended"


@pytest.mark.parametrize("columns", ["60", "80"])
def test_narrow_terminal_price_table_drops_no_character(
        columns: str, server: FakeOpenRouter, env: dict) -> None:
    model = {"id": LONG_ID, "context_length": 10_000_000,
             "pricing": {"prompt": "0.0000123456789", "completion": "0.0000987654321"}}
    server.json({"data": [model]})
    args = ["price", "-m", LONG_ID, "--compare", "mistralai/devstral-2512",
            "--output-tokens", "987654321", "a few words to count"]
    result = run_orcli(args, env | {"COLUMNS": columns, "NO_COLOR": "1"})
    assert result.code == 0, result.stderr
    rows = result.stdout.splitlines()
    assert rows[0].split() == ["model", "input", "tokens", "output", "tokens", "$/M", "in",
                               "$/M", "out", "total"]
    long_row = next(row for row in rows if row.startswith(LONG_ID + " "))
    cells = long_row.split()
    assert cells[2:4] == ["(estimate)", "987,654,321"]  # the count keeps its label
    total = (Decimal("0.0000123456789") * int(cells[1].replace(",", ""))
             + Decimal("0.0000987654321") * 987_654_321)
    assert cells[4:] == ["12.3456789", "98.7654321", format_usd(total)]
    assert "…" not in result.stdout


# ---- colour turned off on a terminal ----------------------------------------------


@pytest.mark.parametrize("how", ["NO_COLOR", "--no-color"])
def test_no_colour_on_a_terminal_means_no_escape_codes(how: str, server: FakeOpenRouter,
                                                       env: dict) -> None:
    flag = ["--no-color"] if how == "--no-color" else []
    env = env | ({"NO_COLOR": "1"} if how == "NO_COLOR" else {})
    server.json(completion(MARKDOWN, reasoning="Let me think."))
    server.json(CATALOG)
    results = [run_orcli(["chat", "--show-reasoning", *flag, "hi"], env),
               run_orcli(["models", *flag, "gpt"], env),
               run_orcli(["price", *flag, "hello"], env)]
    for result in results:
        assert result.code == 0, result.stderr
        assert ESC not in result.stdout + result.stderr
    chat = results[0]
    assert chat.stdout == MARKDOWN  # without colour the Markdown source is the plain form
    assert "Let me think." in chat.stderr and "tokens" in chat.stderr
    assert "openai/gpt-4o-mini" in results[1].stdout


def test_no_color_beats_force_color(server: FakeOpenRouter, env: dict) -> None:
    server.json(completion(MARKDOWN))
    result = run_orcli(["chat", "hi"], env | {"NO_COLOR": "1", "FORCE_COLOR": "1"})
    assert ESC not in result.stdout + result.stderr


# ---- pipes --------------------------------------------------------------------------


def test_piped_output_has_no_escape_codes(server: FakeOpenRouter, env: dict) -> None:
    server.json(completion(MARKDOWN, reasoning="Let me think."))
    server.sse([data(chunk(reasoning="Hmm")), *stream_of(["Some **bold**", " words."])])
    server.json(CATALOG)
    runs = {
        "chat": run_piped(["chat", "--usage", "--show-reasoning", "hi"], env),
        "stream": run_piped(["stream", "--usage", "--show-reasoning", "hi"], env),
        "models": run_piped(["models", "gpt"], env),
        "price": run_piped(["price", "--compare", "openai/gpt-4o", "hello"], env),
    }
    for name, result in runs.items():
        assert result.code == 0, f"{name}: {result.stderr}"
        assert ESC not in result.stdout, name
        assert ESC not in result.stderr, name
    assert runs["chat"].stdout == MARKDOWN
    assert runs["stream"].stdout == "Some **bold** words.\n"
    assert "\t" in runs["models"].stdout and "\t" in runs["price"].stdout


def test_force_color_colours_stderr_but_never_piped_stdout(server: FakeOpenRouter,
                                                           env: dict) -> None:
    server.json(completion(MARKDOWN))
    server.json(CATALOG)
    env = env | {"FORCE_COLOR": "1"}
    chat = run_piped(["chat", "--usage", "hi"], env)
    assert chat.stdout == MARKDOWN  # the exact bytes: no Markdown, no colour into a pipe
    assert chat.stderr.startswith(DIM + "orcli: mistralai/devstral-2512")
    models = run_piped(["models", "gpt"], env)
    assert ESC not in models.stdout and "\t" in models.stdout


def test_stdout_piped_stderr_on_a_terminal(server: FakeOpenRouter, env: dict) -> None:
    # `orcli chat hi | less`: the answer is data; the usage line is for the person.
    server.json(completion(MARKDOWN))
    result = run_orcli(["chat", "hi"], env, stdout_tty=False)
    assert result.stdout == MARKDOWN
    assert DIM in result.stderr


# ---- the spinner ------------------------------------------------------------------


@pytest.mark.parametrize("command", ["chat", "stream"])
def test_spinner_turns_while_waiting_and_is_gone_before_the_answer(
        command: str, server: FakeOpenRouter, env: dict) -> None:
    if command == "chat":
        delayed_json(server, completion("The answer."), 0.6)
    else:
        server.sse([0.6, *stream_of(["The answer."])])
    screen = run_orcli([command, "--no-usage", "hi"], env, same_tty=True).stdout
    frames = [f for f in render.SPINNER_FRAMES if f + " waiting for" in screen]
    assert frames, f"no spinner on the terminal: {screen!r}"
    erased = screen.rindex(" " * len("x waiting for mistralai/devstral-2512") + "\r")
    assert erased < screen.index("The answer."), "the spinner was not erased before the answer"
    assert screen.endswith("The answer.\n")


@pytest.mark.parametrize("stdout_tty, stderr_tty", [(True, False), (False, True)])
def test_no_spinner_unless_stdout_and_stderr_are_terminals(
        stdout_tty: bool, stderr_tty: bool, server: FakeOpenRouter, env: dict) -> None:
    delayed_json(server, completion("The answer."), 0.4)
    result = run_orcli(["chat", "--no-usage", "hi"], env, stdout_tty, stderr_tty)
    assert result.code == 0
    assert "waiting for" not in result.stdout + result.stderr
    assert "\r" not in result.stderr


def test_spinner_erases_itself_for_a_retry_note_and_never_writes_after_stop() -> None:
    streams = Streams.for_test(tty=True)
    spinner = render.Spinner(streams, "waiting").start()
    time.sleep(render.SPINNER_INTERVAL * 3)
    spinner.line("orcli: retrying")
    time.sleep(render.SPINNER_INTERVAL * 3)
    spinner.stop()
    written = streams.stderr.getvalue().decode()
    assert "waiting" in written
    assert "\r" + " " * len("x waiting") + "\rorcli: retrying\n" in written
    assert written.endswith(" " * len("x waiting") + "\r")
    time.sleep(render.SPINNER_INTERVAL * 3)
    assert streams.stderr.getvalue().decode() == written
    assert not any(t.name == "orcli-spinner" for t in threading.enumerate())


def test_spinner_does_nothing_off_a_terminal() -> None:
    streams = Streams.for_test(tty=False)
    spinner = render.Spinner(streams, "waiting").start()
    time.sleep(render.SPINNER_INTERVAL * 3)
    spinner.stop()
    assert streams.stderr.getvalue() == b""


# ---- the colour decision, in one place ----------------------------------------------

TTY, PIPE = True, False


@pytest.mark.parametrize("stdout_tty, stderr_tty, env, off, want_out, want_err", [
    (TTY, TTY, {}, False, True, True),
    (PIPE, PIPE, {}, False, False, False),
    (PIPE, TTY, {}, False, False, True),
    (TTY, TTY, {"NO_COLOR": "1"}, False, False, False),
    (TTY, TTY, {"NO_COLOR": ""}, False, True, True),  # empty means unset (no-color.org)
    (TTY, TTY, {}, True, False, False),  # --no-color
    (PIPE, PIPE, {"FORCE_COLOR": "1"}, False, False, True),
    (TTY, TTY, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, False, False),
    (TTY, TTY, {"FORCE_COLOR": "1"}, True, False, False),
    (TTY, TTY, {"TERM": "dumb"}, False, False, False),
    (PIPE, PIPE, {"TERM": "dumb", "FORCE_COLOR": "1"}, False, False, True),
])
def test_colour_decision(stdout_tty: bool, stderr_tty: bool, env: dict, off: bool,
                         want_out: bool, want_err: bool) -> None:
    streams = Streams.for_test(env=env).without_color(off)
    streams.stdout_isatty, streams.stderr_isatty = stdout_tty, stderr_tty
    assert (streams.stdout_color, streams.stderr_color) == (want_out, want_err)


def test_markdown_only_with_colour_on_stdout_and_without_plain() -> None:
    tty = Streams.for_test(tty=True)
    assert render.markdown_wanted(tty, plain=False)
    assert not render.markdown_wanted(tty, plain=True)
    assert not render.markdown_wanted(tty.without_color(), plain=False)
    assert not render.markdown_wanted(Streams.for_test(env={"FORCE_COLOR": "1"}), plain=False)


# ---- help ---------------------------------------------------------------------------


@pytest.mark.parametrize("command, example", [
    ("chat", "    orcli chat --json 'hi' | jq .usage.cost\n"),
    ("stream", "    orcli stream --jsonl 'hi' | jq -c 'select(.type == \"usage\")'\n"),
    ("models", "    orcli models --supports tools --max-price 1 | cut -f1\n"),
    ("price", "    orcli price --input-tokens 1000000 --json | jq .total_cost\n"),
])
def test_help_groups_options_and_keeps_examples_whole(command: str, example: str,
                                                      isolated_env: dict[str, str]) -> None:
    result = run_piped([command, "--help"], isolated_env | {"COLUMNS": "80"})
    assert result.code == 0
    assert example in result.stdout  # not rewrapped: it can be copied as is
    headings = [line for line in result.stdout.splitlines() if line.endswith(":")
                and not line.startswith(" ")]
    assert {"Arguments:", "Output:", "Other options:"} <= set(headings), headings
    assert len(headings) >= 5, headings
    assert "--no-color" in result.stdout
    assert ESC not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
