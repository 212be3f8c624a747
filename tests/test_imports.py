"""Lazy imports: rich, requests and tiktoken load only when a command needs them.

Each case runs orcli in a fresh interpreter (a module imported by an earlier
test would hide the problem in-process) and reports which heavy modules ended
up in sys.modules. No timings here; benchmarks/run.py measures those.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import API_KEY
from tests.fake_openrouter import FakeOpenRouter, completion

HEAVY = ("rich", "requests", "tiktoken")
MARK = "LOADED_MODULES "

# Runs orcli's real entry point on the real process streams (pipes here), then
# reports the heavy modules loaded and the exit code on stderr's last line.
PROBE = f"""
import json, sys
from orcli.__main__ import main
code = main(sys.argv[1:])
loaded = sorted({{name.split('.')[0] for name in sys.modules}} & {set(HEAVY)!r})
sys.stderr.write('\\n{MARK}' + json.dumps({{'code': code, 'loaded': loaded}}) + '\\n')
"""


def probe(args: list[str], env: dict[str, str], cwd: Path, stdin: bytes = b"") -> dict:
    """Run orcli with args in a new interpreter; its exit code, stdout and heavy modules."""
    result = subprocess.run([sys.executable, "-c", PROBE, *args], input=stdin,
                            capture_output=True, env=env, cwd=cwd, timeout=60)
    err = result.stderr.decode("utf-8", "replace")
    assert API_KEY not in err + result.stdout.decode("utf-8", "replace")
    marks = [line for line in err.splitlines() if line.startswith(MARK)]
    assert marks, f"orcli crashed before reporting (exit {result.returncode}):\n{err}"
    report = json.loads(marks[-1][len(MARK):])
    return report | {"stdout": result.stdout.decode("utf-8", "replace"), "stderr": err}


@pytest.fixture
def env(isolated_env: dict[str, str]) -> dict[str, str]:
    # No .pyc writes: they would show up as files created by the import test.
    return isolated_env | {"OPENROUTER_API_KEY": API_KEY, "PYTHONDONTWRITEBYTECODE": "1"}


def test_version_loads_none_of_rich_requests_tiktoken(env: dict[str, str],
                                                      tmp_path: Path) -> None:
    report = probe(["--version"], env, tmp_path)
    assert report["code"] == 0
    assert report["stdout"].startswith("orcli ")
    assert report["loaded"] == []


@pytest.mark.parametrize("command", [[], ["chat"], ["stream"], ["models"], ["price"]])
def test_help_loads_neither_rich_nor_requests(command: list[str], env: dict[str, str],
                                              tmp_path: Path) -> None:
    report = probe([*command, "--help"], env, tmp_path)
    assert report["code"] == 0, report["stderr"]
    assert "Usage" in report["stdout"]
    assert not {"rich", "requests"} & set(report["loaded"]), f"orcli {command} --help"


def test_piped_chat_never_loads_rich(server: FakeOpenRouter, env: dict[str, str],
                                     tmp_path: Path) -> None:
    server.json(completion("Hello from the fake server"))
    env = env | {"OPENROUTER_BASE_URL": server.base_url}
    report = probe(["chat"], env, tmp_path, stdin=b"hi\n")
    assert report["code"] == 0, report["stderr"]
    assert report["stdout"] == "Hello from the fake server\n"
    assert "rich" not in report["loaded"]


def test_dry_run_loads_none_of_rich_requests_tiktoken(env: dict[str, str],
                                                      tmp_path: Path) -> None:
    report = probe(["chat", "--dry-run", "say hi"], env, tmp_path, stdin=b"")
    assert report["code"] == 0, report["stderr"]
    assert json.loads(report["stdout"])["messages"][-1]["content"] == "say hi"
    assert report["loaded"] == []


# Imports orcli.cli under an audit hook that records file, network and process
# activity outside the places Python imports code from.
IMPORT_AUDIT = """
import importlib.util, json, os, sys
spec = importlib.util.find_spec('orcli')  # locates the package without running it
code_dirs = [os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)]
code_dirs += [os.path.realpath(p) for p in spec.submodule_search_locations]
code_dirs += [os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)]
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
seen = []

def outside_code(path):
    try:
        real = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return True
    return not any(real == d or real.startswith(d + os.sep) for d in code_dirs)

def hook(event, args):
    if event == 'open':
        path, mode, flags = args
        writes = any(c in (mode or '') for c in 'wax+') or bool((flags or 0) & WRITE_FLAGS)
        if path is not None and (writes or outside_code(path)):
            seen.append(f'{event} {path!r} {mode!r}')
    elif event in ('os.listdir', 'os.scandir', 'os.mkdir', 'os.remove', 'os.rename',
                   'os.chmod', 'os.truncate', 'shutil.rmtree'):
        if args and args[0] is not None and outside_code(args[0]):
            seen.append(f'{event} {args[0]!r}')
    elif event.startswith(('socket.', 'subprocess.', 'os.exec', 'os.posix_spawn',
                           'os.system', 'os.fork', 'urllib.')):
        seen.append(event)

sys.addaudithook(hook)
import orcli.cli
print(json.dumps(seen))
"""


def test_importing_cli_does_no_io_and_creates_no_files(env: dict[str, str],
                                                      tmp_path: Path) -> None:
    home = Path(env["HOME"])
    home.mkdir(parents=True)
    result = subprocess.run([sys.executable, "-c", IMPORT_AUDIT], capture_output=True,
                            env=env, cwd=home, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    activity = json.loads(result.stdout)
    assert activity == [], "importing orcli.cli touched: " + "; ".join(activity)
    assert list(home.iterdir()) == []
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        assert not os.path.exists(env[name]), f"{name} was created"
