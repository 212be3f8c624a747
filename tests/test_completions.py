"""Shell completion: the committed scripts match the CLI, and real shells complete with them.

Each shell runs the committed completion file, which calls an `orcli` found on
PATH: a wrapper around this interpreter's `python -m orcli`, so the answers come
through orcli's own entry point. Model ids come from a cache written with
catalog.write_cache; the base URL points at a closed port, so a fetch would fail.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orcli.models import catalog

ROOT = Path(__file__).resolve().parent.parent
COMPLETIONS = ROOT / "completions"
CATALOG = json.loads((Path(__file__).parent / "data" / "models.json").read_text("utf-8"))["data"]
DEAD_URL = "http://127.0.0.1:9/api/v1"  # the discard port: nothing listens there


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_completions",
                                                  ROOT / "scripts" / "gen_completions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def shell_env(isolated_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """An orcli on PATH running this checkout, and a cached catalog of any age."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "orcli"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m orcli "$@"\n')
    wrapper.chmod(0o755)
    env = isolated_env | {"PATH": f"{bin_dir}:{isolated_env['PATH']}",
                          "OPENROUTER_BASE_URL": DEAD_URL, "PYTHONPATH": str(ROOT)}
    cache_dir = catalog.cache_dir_from_env(env)
    # Two days old: completion uses the cache at any age and never refreshes it.
    catalog.write_cache(DEAD_URL, CATALOG, cache_dir=cache_dir, now=time.time() - 2 * 86400)
    return env


def bash_complete(words: list[str], env: dict[str, str]) -> list[str]:
    """COMPREPLY after bash runs the committed completion function on these words."""
    script = (f"source {COMPLETIONS / 'orcli.bash'}\n"
              f"COMP_WORDS=({' '.join(_bash_quote(w) for w in words)})\n"
              f"COMP_CWORD={len(words) - 1}\n"
              "_orcli_completion orcli\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return [line for line in result.stdout.splitlines() if line]


def _bash_quote(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'"


# ---- the committed files --------------------------------------------------------------


def test_committed_completion_files_match_the_cli() -> None:
    expected = load_generator().completion_scripts()
    assert sorted(expected) == ["orcli.bash", "orcli.fish", "orcli.zsh"]
    for name, text in expected.items():
        committed = (COMPLETIONS / name).read_text(encoding="utf-8")
        assert committed == text, f"completions/{name} is stale: run scripts/gen_completions.py"


def test_generator_check_mode_passes_on_the_committed_files() -> None:
    result = subprocess.run([sys.executable, "scripts/gen_completions.py", "--check"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_scripts_call_back_the_variable_orcli_answers_to() -> None:
    from orcli.cli.shells import COMPLETE_VAR as _COMPLETE_VAR

    for name in ("orcli.bash", "orcli.zsh", "orcli.fish"):
        assert f"{_COMPLETE_VAR}=complete_" in (COMPLETIONS / name).read_text(encoding="utf-8")


# ---- bash ------------------------------------------------------------------------------


def test_bash_completes_subcommands(shell_env: dict[str, str]) -> None:
    assert bash_complete(["orcli", "ch"], shell_env) == ["chat"]
    assert bash_complete(["orcli", ""], shell_env) == [
        "chat", "stream", "models", "price", "batch", "spend", "key", "generation", "completion"]


def test_bash_completes_model_ids_from_the_cache(shell_env: dict[str, str]) -> None:
    assert bash_complete(["orcli", "chat", "-m", "mistralai/dev"], shell_env) == [
        "mistralai/devstral-2512", "mistralai/devstral-2512:free"]
    assert bash_complete(["orcli", "price", "--compare", "openai/"], shell_env) == [
        "openai/gpt-4o", "openai/gpt-4o-mini"]
    assert bash_complete(["orcli", "models", "show", "qwen"], shell_env) == ["qwen/qwen3-coder"]
    assert "anthropic/claude-sonnet-4.5" in bash_complete(
        ["orcli", "stream", "--model", ""], shell_env)


def test_bash_completes_flag_values(shell_env: dict[str, str]) -> None:
    assert bash_complete(["orcli", "models", "--sort", ""], shell_env) == [
        "id", "price", "context", "created"]
    assert bash_complete(["orcli", "chat", "--tool-choice", "r"], shell_env) == ["required"]
    assert bash_complete(["orcli", "models", "--supports", "tool"], shell_env) == [
        "tool_choice", "tools"]
    assert {"--no-stdin", "--no-usage", "--no-color"} <= set(
        bash_complete(["orcli", "chat", "--no-"], shell_env))


def test_model_ids_follow_the_base_url_typed_on_the_line(shell_env: dict[str, str]) -> None:
    # Another server, another cache: none for this one, so nothing is offered.
    words = ["orcli", "chat", "--base-url", "http://127.0.0.1:9/other", "-m", "mistralai/"]
    assert bash_complete(words, shell_env) == []


def test_no_cache_means_no_model_ids_and_no_fetch(shell_env: dict[str, str],
                                                  tmp_path: Path) -> None:
    env = shell_env | {"XDG_CACHE_HOME": str(tmp_path / "empty-cache")}
    started = time.monotonic()
    assert bash_complete(["orcli", "chat", "-m", "mistral"], env) == []
    assert time.monotonic() - started < 10  # no network timeout was waited for
    assert not (tmp_path / "empty-cache").exists(), "completion must not write a cache"


def test_completion_loads_neither_requests_nor_rich(shell_env: dict[str, str]) -> None:
    probe = ("import sys\nfrom orcli.__main__ import main\n"
             "try:\n    main([])\nexcept SystemExit:\n    pass\n"
             "heavy = {m.split('.')[0] for m in sys.modules} & {'requests', 'rich', 'tiktoken'}\n"
             "print('HEAVY', sorted(heavy), file=sys.stderr)\n")
    for shell_vars in ({"_ORCLI_COMPLETE": "complete_bash", "COMP_WORDS": "orcli chat -m mi",
                        "COMP_CWORD": "3"},
                       {"_ORCLI_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "orcli "},
                       {"_ORCLI_COMPLETE": "complete_fish", "_TYPER_COMPLETE_ARGS": "orcli ",
                        "_TYPER_COMPLETE_FISH_ACTION": "get-args"}):
        result = subprocess.run([sys.executable, "-c", probe], env=shell_env | shell_vars,
                                capture_output=True, text=True, timeout=30)
        assert "HEAVY []" in result.stderr, result.stderr
        assert "chat" in result.stdout or "mistralai/devstral-2512" in result.stdout


# ---- zsh and fish (when installed) ---------------------------------------------------


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_subcommands_and_model_ids(shell_env: dict[str, str]) -> None:
    def fish_complete(line: str) -> list[str]:
        script = f"source {COMPLETIONS / 'orcli.fish'}; complete -C'{line}'"
        result = subprocess.run(["fish", "--no-config", "-c", script], env=shell_env,
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        return [row.split("\t")[0] for row in result.stdout.splitlines()]

    assert fish_complete("orcli ch") == ["chat"]
    assert fish_complete("orcli chat -m mistralai/dev") == [
        "mistralai/devstral-2512", "mistralai/devstral-2512:free"]
    # No model id matches: no file names either, where only a path goes.
    assert fish_complete("orcli chat -m tests/") == []  # files there, but -m takes an id
    assert fish_complete("orcli chat -f tests/test_complet") == ["tests/test_completions.py"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_script_registers_and_answers(shell_env: dict[str, str], tmp_path: Path) -> None:
    # zsh's completion widgets need an interactive line editor; instead the script is
    # loaded as a user would load it, and _arguments is replaced to show what it was given.
    script = (f"autoload -Uz compinit; compinit -u -d {tmp_path / 'zcompdump'}\n"
              f"source {COMPLETIONS / 'orcli.zsh'}\n"
              "print -r -- $_comps[orcli]\n"
              "_arguments() { print -r -- \"$@\" }\n"
              "words=(orcli chat -m mistralai/dev); CURRENT=4; _orcli_completion\n"
              "words=(orcli ch); CURRENT=2; _orcli_completion\n"
              "words=(orcli chat --js); CURRENT=3; _orcli_completion\n")
    result = subprocess.run(["zsh", "-f", "-c", script], env=shell_env, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "_orcli_completion"
    assert '"mistralai/devstral-2512" "mistralai/devstral-2512\\\\:free"' in result.stdout
    assert '"chat":"Send a prompt; print the whole answer."' in result.stdout
    assert "Print the API's response JSON." in result.stdout  # the apostrophe survives


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_orcli_completion_prints_the_committed_script(shell: str, isolated_env) -> None:
    from tests.conftest import run_process

    printed = run_process(["completion", shell], isolated_env)
    assert printed.returncode == 0
    assert printed.stdout.decode() == (COMPLETIONS / f"orcli.{shell}").read_text("utf-8")


def test_orcli_completion_of_an_unknown_shell_is_a_usage_error(isolated_env) -> None:
    from tests.conftest import run_process

    done = run_process(["completion", "tcsh"], isolated_env)
    assert done.returncode == 2 and b"bash, zsh or fish" in done.stderr
