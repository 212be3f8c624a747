"""A server's strings never reach a terminal as escape sequences, and stderr never
decides the exit code.

OSC 52 writes the clipboard and OSC 2 the window title; a server may put them (or
CSI, or C1 controls) in an error message, an answer, reasoning, a model's name or
description. On a terminal, and on stderr always, they are shown visibly
(`\\x1b]52;...`); piped stdout stays byte for byte the model's answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from orcli import render
from tests.conftest import API_KEY
from tests.fake_openrouter import FakeOpenRouter, completion, error_body, stream_of

CLIPBOARD = "\x1b]52;c;cHduZWQ=\x07"
TITLE = "\x1b]2;pwned\x1b\\"
CSI = "\x1b[2J\x9b31m"
HOSTILE = f"A{CLIPBOARD}B{TITLE}C{CSI}D\u202eE"
SHOWN = "A\\x1b]52;c;cHduZWQ=\\x07B\\x1b]2;pwned\\x1b\\C\\x1b[2J\\x9b31mD\\u202eE"


def _raw_escapes(text: str) -> bool:
    """Whether the server's own sequences came through (ours, like dim, are CSI only)."""
    return any(s in text for s in ("\x1b]", "\x07", "\x9b", "\u202e", "\x1b[2J"))


def test_safe_text_shows_controls_and_keeps_lines_and_tabs() -> None:
    assert render.safe_text(HOSTILE) == SHOWN
    assert render.safe_text("a\tb\nc\r\nd\re\x00") == "a\tb\nc\r\nd\\x0de\\x00"
    assert render.safe_line("model\n::warning::x") == "model\\x0a::warning::x"
    assert render.safe_text("naïve café, 日本語 🎉") == "naïve café, 日本語 🎉"


def test_an_error_message_is_made_safe_on_piped_stderr(run, server: FakeOpenRouter) -> None:
    server.json(error_body(400, HOSTILE), status=400)
    result = run("chat", "hi", expect=4)
    assert not _raw_escapes(result.stderr)
    assert result.stderr == f"orcli: error: HTTP 400: {SHOWN}\n"


def test_a_retry_note_is_made_safe(run, server: FakeOpenRouter,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from orcli.http import client
    from orcli.http.retry import Backoff

    monkeypatch.setattr(client, "DEFAULT_BACKOFF", Backoff(sleep=lambda s: None))
    server.json(error_body(503, HOSTILE), status=503)
    server.json(completion("ok"))
    result = run("chat", "--retries", "1", "hi")
    assert "retrying" in result.stderr and SHOWN in result.stderr
    assert not _raw_escapes(result.stderr)


@pytest.mark.parametrize("flags", [[], ["--plain"], ["--no-color"]])
def test_an_answer_on_a_terminal_is_made_safe(flags: list[str], run,
                                              server: FakeOpenRouter) -> None:
    server.json(completion(HOSTILE, reasoning=HOSTILE))
    result = run("chat", "--show-reasoning", *flags, "hi", tty=True)
    assert not _raw_escapes(result.stdout) and not _raw_escapes(result.stderr)
    assert "cHduZWQ=" in result.stdout and "cHduZWQ=" in result.stderr


def test_a_piped_answer_stays_byte_for_byte(run, server: FakeOpenRouter) -> None:
    server.json(completion(HOSTILE))
    assert run("chat", "hi").stdout_bytes == (HOSTILE + "\n").encode()
    server.sse(stream_of([HOSTILE[:5], HOSTILE[5:]]))
    assert run("stream", "hi").stdout_bytes == (HOSTILE + "\n").encode()


def test_a_stream_on_a_terminal_is_made_safe(run, server: FakeOpenRouter) -> None:
    server.sse(stream_of([HOSTILE[:5], HOSTILE[5:]]))
    result = run("stream", "hi", tty=True)
    assert not _raw_escapes(result.stdout) and "cHduZWQ=" in result.stdout


def test_models_listing_and_show_are_made_safe(run, server: FakeOpenRouter) -> None:
    model = {"id": "evil/model", "name": HOSTILE, "description": HOSTILE,
             "architecture": {"input_modalities": [HOSTILE]}, "supported_parameters": [HOSTILE]}
    server.json({"data": [model]})
    outputs = [run("models", tty=True).stdout, run("models").stdout,
               run("models", "show", "evil/model", tty=True).stdout,
               run("models", "show", "evil/model").stdout]
    for out in outputs:
        assert not _raw_escapes(out) and "cHduZWQ=" in out


def test_a_price_table_is_made_safe(run, server: FakeOpenRouter) -> None:
    free = {"prompt": "0", "completion": "0"}
    server.json({"data": [{"id": "evil/" + HOSTILE, "pricing": free}]})
    result = run("price", "-m", "evil/" + HOSTILE, "hi", tty=True)
    assert not _raw_escapes(result.stdout) and "cHduZWQ=" in result.stdout


def test_the_usage_line_stays_one_short_line(run, server: FakeOpenRouter) -> None:
    server.json(completion("hi", model="m\norcli: error: forged\n::warning::pwned" + CLIPBOARD))
    server.json(completion("hi", model="m" * 5_000_000))
    forged, huge = run("chat", "--usage", "hi"), run("chat", "--usage", "hi")
    assert forged.stderr.count("\n") == 1 and not _raw_escapes(forged.stderr)
    assert forged.stderr.startswith("orcli: m\\x0aorcli: error: forged\\x0a::warning::pwned")
    assert huge.stderr.count("\n") == 1
    assert len(huge.stderr) <= render.USAGE_MODEL_WIDTH + 60
    assert huge.stderr.startswith("orcli: " + "m" * 119 + "…: 3 in, 7 out tokens")


def _child(args: list[str], env: dict[str, str], stdout: str,
           stderr: str) -> subprocess.CompletedProcess[bytes]:
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        return subprocess.run([sys.executable, "-m", "orcli", *args], env=env, stdout=out,
                              stderr=err, stdin=subprocess.DEVNULL, timeout=30)


def test_stderr_on_a_full_disk_keeps_the_exit_code_earned(
        isolated_env: dict[str, str], server: FakeOpenRouter, tmp_path: Path) -> None:
    env = isolated_env | {"OPENROUTER_API_KEY": API_KEY, "OPENROUTER_BASE_URL": server.base_url,
                          "PYTHONDONTWRITEBYTECODE": "1"}
    server.json(completion("fine"))
    answer = tmp_path / "answer"
    assert _child(["chat", "--usage", "hi"], env, str(answer), "/dev/full").returncode == 0
    assert answer.read_text() == "fine\n"
    server.json(error_body(400, "no"), status=400)
    assert _child(["chat", "hi"], env, str(answer), "/dev/full").returncode == 4
    server.json(completion("fine"))
    assert _child(["chat", "hi"], env, "/dev/full", "/dev/full").returncode == 1


def test_a_price_comparison_fits_70_columns_without_splitting_a_word(
        run, server: FakeOpenRouter) -> None:
    server.json(json.loads((Path(__file__).parent / "data" / "models.json").read_text()))
    args = ["price", "--compare", "openai/gpt-4o", "--compare", "anthropic/claude-sonnet-4.5",
            "--output-tokens", "2000", "a few words to count"]
    table = run(*args, tty=True, env={"COLUMNS": "70", "NO_COLOR": "1"}).stdout
    words = run(*args).stdout.split()  # the piped lines: every value, whole
    assert max(len(line) for line in table.splitlines()) <= 70
    for word in ("openai/gpt-4o", "anthropic/claude-sonnet-4.5", "mistralai/devstral-2512"):
        assert word in table.split() and word in words
    assert "(estimate)" in table.split() and "(exact)" in table.split()


def test_models_show_fits_120_columns_without_splitting_a_word(
        run, server: FakeOpenRouter) -> None:
    description = " ".join(f"word{i:03d}" for i in range(200))
    params = [f"parameter_{i}" for i in range(30)]
    server.json({"data": [{"id": "a/b", "description": description,
                           "supported_parameters": params}]})
    shown = run("models", "show", "a/b", tty=True, env={"COLUMNS": "120"}).stdout
    lines = shown.splitlines()
    assert max(len(line) for line in lines) <= 120
    assert shown.split() == run("models", "show", "a/b").stdout.split()  # no word split
    follow = lines[lines.index(next(x for x in lines if x.startswith("parameters:"))) + 1]
    assert follow.startswith(" " * 23 + "parameter_")
