"""Shared fixtures: the fake OpenRouter server and one way to run orcli."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orcli.__main__ import main
from orcli.app import App
from orcli.http.retry import Backoff
from tests.fake_openrouter import FakeOpenRouter, RawFaultServer

# A key shaped like a real one; every run checks it never shows up in output.
API_KEY = "sk-or-v1-" + "0123456789abcdef" * 4


@pytest.fixture
def server() -> Iterator[FakeOpenRouter]:
    fake = FakeOpenRouter().start()
    fake.key = API_KEY  # a request that sends a key must send this one
    yield fake
    fake.stop()
    problems = fake.problems()
    assert not problems, "fake server: " + "; ".join(problems)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes


@pytest.fixture
def isolated_env(tmp_path: Path) -> dict[str, str]:
    """An environment with no config file, cache or key of the developer's."""
    return {
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PATH": os.environ.get("PATH", ""),
    }


@pytest.fixture
def run(isolated_env: dict[str, str], request: pytest.FixtureRequest):
    """Run orcli in-process through its real entry point; check the exit code and the key."""

    def _run(*args: str, stdin: bytes | str | None = b"", env: Mapping[str, str] | None = None,
             expect: int = 0, key: bool = True, tty: bool = False,
             base_url: str | None = None) -> Result:
        full_env = dict(isolated_env)
        if key:
            full_env["OPENROUTER_API_KEY"] = API_KEY
        server = request.getfixturevalue("server") if base_url is None and _uses_server(
            request) else None
        if base_url or server:
            full_env["OPENROUTER_BASE_URL"] = base_url or server.base_url
        full_env.update(env or {})
        data = stdin.encode() if isinstance(stdin, str) else stdin
        streams = App.for_test(stdin=data, env=full_env, tty=tty)
        # A test's own backoff records the waits (test_reliability.py pins them); any
        # other run retries at once, so no test sleeps through a real backoff.
        streams.backoff = (request.getfixturevalue("backoff") if "backoff" in request.fixturenames
                           else Backoff(sleep=lambda _seconds: None))
        code = main(list(args), streams)
        out = streams.stdout.getvalue()
        err = streams.stderr.getvalue().decode("utf-8", "replace")
        result = Result(code, out.decode("utf-8", "replace"), err, out)
        assert API_KEY not in result.stdout + result.stderr, "the API key leaked into output"
        assert code == expect, f"exit {code}, expected {expect}\nstdout: {result.stdout}\n" \
                               f"stderr: {result.stderr}"
        return result

    return _run


def _uses_server(request: pytest.FixtureRequest) -> bool:
    return "server" in request.fixturenames


def run_process(args: list[str], env: Mapping[str, str], stdin: bytes = b"",
                timeout: float = 30) -> subprocess.CompletedProcess[bytes]:
    """Run orcli as a real process (for signals, pipes and import checks)."""
    result = subprocess.run([sys.executable, "-m", "orcli", *args], input=stdin,
                            capture_output=True, env=dict(env), timeout=timeout)
    assert API_KEY.encode() not in result.stdout + result.stderr
    return result


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawFaultServer]]:
    servers: list[RawFaultServer] = []

    def make(*acts: object) -> RawFaultServer:
        servers.append(RawFaultServer(*acts).start())
        return servers[-1]

    yield make
    for fault in servers:
        fault.stop()
        assert not fault.problems(), "raw server: " + "; ".join(fault.problems())


@pytest.fixture(scope="session")
def devstral_reference(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """mistral-common's tokenizer for Devstral 2: tekken_240911's vocabulary, template v13.

    Loading it takes a second or two, so test_tokens.py and test_tokenizers.py share one.
    """
    import json

    import mistral_common
    from mistral_common.tokens.tokenizers.base import SpecialTokens
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    source = Path(mistral_common.__file__).parent / "data" / "tekken_240911.json"
    data = json.loads(source.read_text(encoding="utf-8"))
    data["config"]["version"] = "v13"
    data.pop("image", None)  # text only: orcli calls any image an estimate
    # Files for v13 must list their control tokens; which ids they get changes no count.
    data["special_tokens"] = [
        {"rank": rank, "token_str": token.value, "is_control": True}
        for rank, token in enumerate(SpecialTokens)
    ]
    path = tmp_path_factory.mktemp("tekken") / "tekken_240911_v13.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return MistralTokenizer.from_file(str(path))
