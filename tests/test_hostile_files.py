"""Config and catalog-cache files that are not what they claim: each is refused or
ignored at once, never read forever, never held in memory whole.

The cases that would hang or eat memory if orcli regressed run in a child process
with a time limit and a 1 GiB address-space limit, so a regression fails the
test instead of the machine.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from orcli.models import catalog
from orcli.models.cache import read_cache

GIB = 1024**3
UNREACHABLE = "http://127.0.0.1:{port}/api/v1"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (GIB, GIB))


def run_bounded(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """orcli in a child under 1 GiB of address space and 20 s; a hang is a test failure."""
    return subprocess.run([sys.executable, "-m", "orcli", *args], env=env, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=20,
                          preexec_fn=_limit_memory)


def closed_port_url() -> str:
    """A loopback URL nothing listens on: an outage without waiting for a timeout."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return UNREACHABLE.format(port=port)


@pytest.fixture
def child_env(isolated_env: dict[str, str]) -> dict[str, str]:
    return isolated_env | {"ORCLI_RETRIES": "0", "PYTHONDONTWRITEBYTECODE": "1"}


def _special(kind: str, path: Path) -> Path:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero-link":
        path.symlink_to("/dev/zero")
    elif kind == "huge":
        with path.open("wb") as out:
            out.truncate(2 * GIB)  # sparse: large to stat, nothing on disk
    return path


# ---- the config file ----------------------------------------------------------------


@pytest.mark.parametrize(("kind", "problem"), [
    ("dev-zero", "is a device, not a regular file"),
    ("fifo", "is a named pipe (FIFO), not a regular file"),
    ("zero-link", "is a device, not a regular file"),
    ("huge", "is larger than 1,048,576 bytes (2,147,483,648)"),
])
def test_a_config_that_is_no_regular_small_file_exits_3_naming_it(
        kind: str, problem: str, child_env: dict[str, str], tmp_path: Path) -> None:
    path = Path("/dev/zero") if kind == "dev-zero" else _special(kind, tmp_path / "config.toml")
    result = run_bounded(["price", "--input-tokens", "1"], child_env | {"ORCLI_CONFIG": str(path)})
    assert result.returncode == 3, result.stderr
    assert result.stderr == f"orcli: error: config file {path} {problem}\n"


def test_a_deeply_nested_config_exits_3(run, tmp_path: Path) -> None:
    config = tmp_path / "deep.toml"
    config.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    result = run("price", "--input-tokens", "1", env={"ORCLI_CONFIG": str(config)}, expect=3)
    assert result.stderr == f"orcli: error: config file {config} is nested too deeply to be " \
                            "a config\n"


def test_dev_null_as_the_config_means_no_config(run) -> None:
    result = run("price", "--input-tokens", "1", env={"ORCLI_CONFIG": os.devnull})
    assert result.stdout.startswith("mistralai/devstral-2512\t1\t")


# ---- the catalog cache --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "zero-link", "huge"])
def test_a_cache_file_that_is_no_regular_small_file_counts_as_absent(
        kind: str, child_env: dict[str, str]) -> None:
    url = closed_port_url()
    cache = catalog.cache_path(url, catalog.cache_dir_from_env(child_env))
    cache.parent.mkdir(parents=True)
    _special(kind, cache)
    env = child_env | {"OPENROUTER_BASE_URL": url}
    # The context guard reads the cache without fetching: no cache, no guard.
    guard = run_bounded(["chat", "-m", "x/model", "--dry-run", "hi"], env)
    assert guard.returncode == 0, guard.stderr
    assert json.loads(guard.stdout)["model"] == "x/model"
    # A listing has no cache to fall back on, so the outage is the error.
    listing = run_bounded(["models"], env)
    assert listing.returncode == 7, listing.stderr
    assert listing.stderr.startswith("orcli: error: cannot reach ")


@pytest.mark.parametrize("fetched_at", ["NaN", "Infinity", "-Infinity", "-1", "1e300", '"x"',
                                        "true", "null"])
def test_a_cache_whose_fetch_time_is_not_a_time_counts_as_absent(
        fetched_at: str, tmp_path: Path) -> None:
    url = "https://openrouter.ai/api/v1"
    path = catalog.write_cache(url, [{"id": "a/b"}], cache_dir=tmp_path, now=1_750_000_000.0)
    path.write_text(path.read_text().replace("1750000000.0", fetched_at))
    assert read_cache(url, tmp_path) is None


def test_a_nan_fetch_time_and_an_outage_exit_7_not_1(child_env: dict[str, str]) -> None:
    url = closed_port_url()
    cache_dir = catalog.cache_dir_from_env(child_env)
    path = catalog.write_cache(url, [{"id": "a/b"}], cache_dir=cache_dir, now=1_750_000_000.0)
    path.write_text(path.read_text().replace("1750000000.0", "NaN"))
    result = run_bounded(["models"], child_env | {"OPENROUTER_BASE_URL": url})
    assert result.returncode == 7, result.stderr
    assert "internal error" not in result.stderr
