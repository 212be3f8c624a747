"""Each command's flags are its own: --help lists them, and no other command takes them."""

from __future__ import annotations

import pytest

from tests.conftest import run_process


def test_chat_help_lists_chat_flags_only(isolated_env) -> None:
    out = run_process(["chat", "--help"], isolated_env).stdout.decode()
    assert "--json " in out and "--plain" in out and "--jsonl" not in out


def test_stream_help_lists_stream_flags_only(isolated_env) -> None:
    out = run_process(["stream", "--help"], isolated_env).stdout.decode()
    assert "--jsonl" in out and "--plain" not in out and "--json " not in out


@pytest.mark.parametrize(("command", "flag"), [("stream", "--plain"), ("stream", "--json"),
                                               ("chat", "--jsonl")])
def test_another_commands_flag_is_a_usage_error(run, command, flag) -> None:
    result = run(command, flag, "--dry-run", "hi", expect=2, key=False)
    assert "No such option" in result.stderr and result.stdout == ""
