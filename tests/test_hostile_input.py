"""Input meant to break orcli, and secrets that must never show: each gets a clear exit.

Huge, binary and mis-encoded input, NUL bytes, conversations of the wrong shape,
JSON nested past Python's recursion limit, options that would take over the
request, and API keys that HTTP cannot carry.
"""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from orcli.__main__ import main
from orcli.render.iostreams import Streams
from tests.conftest import API_KEY
from tests.fake_openrouter import DONE, chunk, completion, data, error_body

MB = 1024 * 1024
DEEP = "[" * 100_000 + "]" * 100_000  # valid JSON, deeper than json.loads can go

# Runs orcli in a child and reports its peak memory on stderr's last line. Linux's
# VmHWM belongs to the new process image; getrusage's ru_maxrss would also count
# the pytest process the child was forked from, as Linux keeps it across exec.
PEAK_RSS = """
import resource, sys
from orcli.__main__ import main
code = main(sys.argv[1:])
sys.stdout.flush()
try:
    status = open("/proc/self/status").read().split("VmHWM:")[1]
    peak = int(status.split()[0])
except (OSError, IndexError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("peak_rss_kb", peak, file=sys.stderr)
sys.exit(code)
"""


def run_measured(args: list[str], env: dict[str, str], stdin: Path,
                 stdout: Path) -> tuple[int, int, str]:
    """Exit code, peak RSS in KiB and stderr of orcli run in a child process."""
    with stdin.open("rb") as source, stdout.open("wb") as sink:
        child = subprocess.run([sys.executable, "-c", PEAK_RSS, *args], stdin=source,
                               stdout=sink, stderr=subprocess.PIPE, env=env, timeout=120)
    err = child.stderr.decode()
    assert API_KEY not in err
    peak = int(err.strip().splitlines()[-1].split()[1])
    return child.returncode, peak, err


@pytest.fixture
def child_env(isolated_env: dict[str, str]) -> dict[str, str]:
    return {**isolated_env, "PYTHONPATH": str(Path(__file__).parent.parent),
            "OPENROUTER_API_KEY": API_KEY}


# ---- size ------------------------------------------------------------------------------

def test_30_mb_of_stdin_with_dry_run_keeps_few_copies(tmp_path, child_env):
    text = ("Grüße, 世界! The quick brown fox. " * (30 * MB // 40)).encode()
    big, small, out = tmp_path / "big.txt", tmp_path / "small.txt", tmp_path / "out.json"
    big.write_bytes(text)
    small.write_bytes(b"hi")
    # An unknown model has no known context, so no guard stands between input and output.
    args = ["chat", "--dry-run", "-m", "someone/unknown-model", "summarize"]
    code, baseline, _ = run_measured(args, child_env, small, out)
    code, peak, err = run_measured(args, child_env, big, out)
    assert code == 0, err
    sent = json.loads(out.read_bytes())["messages"][0]["content"]
    assert sent == "summarize\n\n" + text.decode()
    extra = (peak - baseline) * 1024 / len(text)
    print(f"\n30 MB stdin --dry-run: peak RSS {peak / 1024:.0f} MiB, baseline "
          f"{baseline / 1024:.0f} MiB, {extra:.1f}x the input above baseline")
    assert extra < 8, f"orcli held {extra:.1f} copies of the input"


def test_30_mb_of_stdin_is_sent_intact(server, tmp_path, child_env):
    text = b"0123456789abcdef\n" * (30 * MB // 17)
    big, out = tmp_path / "big.txt", tmp_path / "out.txt"
    big.write_bytes(text)
    server.json(completion("read it all"))
    env = {**child_env, "OPENROUTER_BASE_URL": server.base_url}
    # No ledger: its own count of 30 MB (for calibration) would take 6 s, and is not what
    # this test is about; test_ledger*.py pin what the ledger records.
    args = ["chat", "-m", "someone/unknown-model", "--no-ledger"]
    code, peak, err = run_measured(args, env, big, out)
    assert code == 0, err
    assert out.read_bytes() == b"read it all\n"
    assert server.requests[0].json()["messages"][0]["content"].encode() == text
    print(f"\n30 MB stdin sent: peak RSS {peak / 1024:.0f} MiB")


# ---- encodings and bytes -------------------------------------------------------------------

def test_binary_stdin_exits_2_and_sends_nothing(server, run):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    result = run("chat", "describe", stdin=png, expect=2)
    assert result.stderr == \
        "orcli: error: stdin is not valid UTF-8 (byte 0); nothing was sent\n"
    assert server.requests == []


def test_bad_byte_deep_in_a_big_stdin_is_located(server, run):
    result = run("chat", "hi", stdin=b"a" * (5 * MB) + b"\xff", expect=2)
    assert f"(byte {5 * MB})" in result.stderr and server.requests == []


def test_invalid_utf8_in_a_file_names_the_file(server, run, tmp_path):
    good, bad = tmp_path / "good.txt", tmp_path / "latin1.txt"
    good.write_text("fine")
    bad.write_bytes("café".encode("latin-1"))
    result = run("chat", "-f", str(good), "-f", str(bad), "hi", expect=2)
    assert result.stderr == \
        f"orcli: error: file {bad} is not valid UTF-8 (byte 3); nothing was sent\n"
    assert server.requests == []


@pytest.mark.parametrize("arg_index", [1, 3, 5, 7])
def test_arguments_that_are_not_utf8_exit_2(server, run, arg_index):
    # What Python makes of undecodable argv bytes: lone surrogates.
    args = ["chat", "hi", "-s", "sys", "--stop", "END", "-m", "a/b"]
    args[arg_index] = "caf\udce9"
    result = run(*args, expect=2)
    assert result.stderr == \
        "orcli: error: argument 'caf\\xe9' is not valid UTF-8; nothing was sent\n"
    assert server.requests == []


def test_argv_bytes_that_are_not_utf8_exit_2_in_a_real_process(child_env):
    child = subprocess.run([sys.executable, "-m", "orcli", "chat", "--dry-run", b"caf\xe9"],
                           capture_output=True, env=child_env, timeout=30)
    assert child.returncode == 2 and b"is not valid UTF-8" in child.stderr
    assert b"Traceback" not in child.stderr


@pytest.mark.parametrize("where", ["stdin", "file"])
def test_nul_bytes_are_sent_as_is_json_escaped(server, run, tmp_path, where):
    text = b"before\x00after\x00\x01\x1f end"
    path = tmp_path / "nul.bin"
    path.write_bytes(text)
    server.json(completion("ok"))
    if where == "stdin":
        run("chat", stdin=text)
    else:
        run("chat", "-f", str(path), stdin=None)
    raw = server.requests[0].body
    assert b"\x00" not in raw and b"before\\u0000after\\u0000\\u0001\\u001f end" in raw
    assert server.requests[0].json()["messages"][0]["content"] == text.decode()


def test_byte_order_mark_and_cr_lf_are_kept(server, run):
    server.json(completion("ok"))
    run("chat", stdin="\ufeffline one\r\nline two\r\n".encode())
    assert server.requests[0].json()["messages"][0]["content"] == \
        "\ufeffline one\r\nline two\r\n"


def test_a_directory_given_as_a_file_exits_2(server, run, tmp_path):
    result = run("chat", "hi", "-f", str(tmp_path), expect=2)
    assert result.stderr.startswith(f"orcli: error: -f {tmp_path}: cannot read it")


# ---- --messages of the wrong shape ------------------------------------------------------------

@pytest.mark.parametrize("content", [
    '{"role": "user", "content": "an object, not a list"}',
    '"just a string"',
    "[null]",
    '[["user", "hi"]]',
    '[{"role": "user"}]',
    '[{"content": "no role"}]',
    '[{"role": "user", "content": {"text": "a dict"}}]',
    '[{"role": "user", "content": ["bare", "strings"]}]',
    '[{"role": "user", "content": [{"text": "part without a type"}]}]',
    '[{"role": "user", "content": 42}]',
    '[{"role": "user", "content": "x"}] trailing',
    DEEP,
])
def test_messages_of_the_wrong_shape_exit_2(server, run, tmp_path, content):
    path = tmp_path / "conv.json"
    path.write_text(content)
    result = run("chat", "--messages", str(path), expect=2)
    assert result.stderr.startswith(f"orcli: error: --messages file {path}")
    assert len(result.stderr.splitlines()) == 1 and server.requests == []


def test_messages_with_content_parts_are_accepted(run):
    conv = [{"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                         {"type": "image_url",
                                          "image_url": {"url": "data:image/png;base64,AAAA"}}]}]
    result = run("chat", "--messages", "-", "--dry-run", stdin=json.dumps(conv))
    assert json.loads(result.stdout)["messages"] == conv


# ---- options that would take over the request --------------------------------------------------

@pytest.mark.parametrize("option", ["model=evil/model", " model =x", "messages=[]",
                                    "stream=false", "stream=true"])
def test_options_may_not_override_model_messages_or_stream(server, run, option):
    result = run("chat", "hi", "--dry-run", "-o", option, expect=2)
    key = option.split("=")[0].strip()
    assert result.stderr.startswith(f"orcli: error: -o {key}=... is not allowed")
    assert result.stdout == ""


def test_option_nested_too_deep_for_json_is_kept_as_text(run):
    # SPEC: VALUE is JSON when it parses, else the plain string.
    body = json.loads(run("chat", "hi", "--dry-run", "-o", f"x={DEEP[:4000]}").stdout)
    assert body["x"] == DEEP[:4000]


@pytest.mark.parametrize("flag", ["--schema", "--tools"])
def test_schema_or_tools_nested_too_deep_exit_2(run, tmp_path, flag):
    path = tmp_path / "deep.json"
    path.write_text(DEEP)
    result = run("chat", "hi", "--dry-run", flag, str(path), expect=2)
    assert result.stderr == f"orcli: error: {flag}: JSON nested too deeply\n"


# ---- secrets -------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad_key", [API_KEY + "\n", API_KEY + "\r", "\n" + API_KEY,
                                     API_KEY[:20] + "\nX-Injected: 1", API_KEY + "é",
                                     API_KEY + "✓", API_KEY + " ", "Bearer " + API_KEY])
def test_key_that_http_cannot_carry_exits_3_without_echoing_it(server, run, bad_key):
    result = run("chat", "hi", "--debug", env={"OPENROUTER_API_KEY": bad_key}, expect=3)
    assert "the API key contains characters that cannot be sent " \
           "(from environment variable OPENROUTER_API_KEY)" in result.stderr
    assert bad_key.strip() not in result.stderr and API_KEY[9:30] not in result.stderr
    assert server.requests == []


def test_app_title_that_http_cannot_carry_exits_3(server, run, isolated_env):
    config = Path(isolated_env["XDG_CONFIG_HOME"]) / "orcli" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('app_title = "orcli ✨"\n')
    result = run("chat", "hi", expect=3)
    assert "app_title must be printable ASCII" in result.stderr and server.requests == []


def test_debug_redacts_authorization_on_every_attempt(server, run):
    server.json({"error": {"code": 503, "message": "down"}}, status=503)
    server.json(completion("ok"))
    result = run("chat", "hi", "--debug")  # `run` fails the test if the key shows anywhere
    assert result.stderr.count("'Authorization': 'Bearer <redacted>'") == 2


@pytest.mark.parametrize(("args", "env"), [(["--debug", "chat", "hi"], {}),
                                           (["chat", "hi"], {"ORCLI_DEBUG": "1"})])
def test_debug_before_the_command_or_from_orcli_debug_is_the_flag(server, run, args, env):
    server.json(completion("ok"))
    result = run(*args, env=env)
    assert result.stdout == "ok\n" and "'Authorization': 'Bearer <redacted>'" in result.stderr


def test_debug_traceback_of_a_failure_has_no_key(run):
    result = run("chat", "hi", "--debug", "--retries", "0",
                 base_url="http://127.0.0.1:9/api/v1", expect=7)
    assert "Traceback" in result.stderr


def test_key_inside_an_exception_text_is_redacted(run, monkeypatch):
    def leaky(self, method, url, **kwargs):
        raise requests.exceptions.ConnectionError(f"proxy said: bad header {API_KEY}")

    monkeypatch.setattr(requests.Session, "request", leaky)
    result = run("chat", "hi", "--retries", "0", base_url="http://127.0.0.1:9/api/v1", expect=7)
    assert "bad header <redacted>" in result.stderr


# A server may echo the key back; `run` fails any test where it reaches the output.

ECHO = f"Invalid API key: {API_KEY}"


@pytest.mark.parametrize("debug", [(), ("--debug",)])
def test_key_echoed_in_a_401_is_redacted(server, run, debug):
    server.json(error_body(401, ECHO), status=401)
    result = run("chat", "hi", *debug, expect=3)
    assert "HTTP 401: Invalid API key: <redacted>" in result.stderr


def test_key_echoed_in_a_retried_error_is_redacted_in_the_retrying_line(server, run):
    server.json(error_body(503, ECHO), status=503)
    server.json(completion("ok"))
    result = run("chat", "hi")
    assert "orcli: HTTP 503: Invalid API key: <redacted>; retrying in" in result.stderr


def test_key_echoed_in_a_200_error_body_is_redacted(server, run):
    server.json({"error": {"code": 400, "message": ECHO, "metadata": {"raw": API_KEY}}})
    result = run("chat", "hi", expect=7)
    assert "Invalid API key: <redacted> (raw: <redacted>)" in result.stderr


def test_key_echoed_in_the_first_event_of_a_stream_is_redacted(server, run):
    server.sse([data(error_body(400, ECHO)), DONE])
    assert "Invalid API key: <redacted>" in run("stream", "hi", expect=7).stderr


@pytest.mark.parametrize("jsonl", [(), ("--jsonl",)])
def test_key_echoed_in_a_mid_stream_error_is_redacted(server, run, jsonl):
    server.sse([data(chunk("partial")), data(error_body(500, ECHO))])
    result = run("stream", "hi", *jsonl, expect=7)
    assert "Invalid API key: <redacted>" in result.stderr
    assert "partial" in result.stdout
    if jsonl:
        assert json.loads(result.stdout.splitlines()[-1])["message"].endswith("<redacted>")


def test_key_echoed_in_stream_data_that_is_not_json_is_redacted(server, run):
    server.sse([data(chunk("partial")), f"data: {ECHO}\n\n".encode()])
    assert "not JSON: Invalid API key: <redacted>" in run("stream", "hi", expect=7).stderr


def test_dry_run_shows_no_key_and_no_headers(run):
    result = run("chat", "hi", "--dry-run")
    assert "Authorization" not in result.stdout and "Bearer" not in result.stdout


def test_settings_repr_hides_the_key():
    from orcli.store.config import resolve_settings

    settings = resolve_settings({}, {"OPENROUTER_API_KEY": API_KEY}, {}, "none")
    assert API_KEY not in repr(settings) and API_KEY not in str(settings)


def test_a_real_process_with_debug_never_prints_the_key_from_its_environment(child_env):
    child = subprocess.run([sys.executable, "-m", "orcli", "chat", "--debug", "hi",
                            "--retries", "0", "--base-url", "http://127.0.0.1:9/api/v1"],
                           capture_output=True, env=child_env, timeout=30, stdin=subprocess.DEVNULL)
    assert child.returncode == 7
    assert API_KEY.encode() not in child.stdout + child.stderr
    # The key was read from the environment and sent: --debug shows where it went, redacted.
    assert b"'Authorization': 'Bearer <redacted>'" in child.stderr


# ---- found in review: odd answers and odd JSON must not end as "this is a bug" ----------

def test_finish_reason_error_in_a_whole_answer_keeps_the_text_and_exits_7(server, run):
    server.json(completion("partial answ", finish_reason="error"))
    result = run("chat", "hi", "--retries", "0", expect=7)
    assert result.stdout == "partial answ\n"
    assert 'finish_reason "error"' in result.stderr


@pytest.mark.parametrize("usage", [{"prompt_tokens": 3, "completion_tokens": 7, "cost": "n/a"},
                                   {"prompt_tokens": "3", "completion_tokens": 7, "cost": 1},
                                   "not an object", {"cost": True}])
def test_odd_usage_values_still_give_a_usage_line(server, run, usage):
    server.json(completion("ok", use=usage))
    result = run("chat", "hi", "--usage")
    assert result.stdout == "ok\n"
    assert result.stderr.startswith("orcli: mistralai/devstral-2512:")


@pytest.mark.parametrize("calls", [[None], "x", [{"function": "f"}]])
def test_tool_calls_of_the_wrong_shape_exit_7(server, run, calls):
    server.json(completion(None, tool_calls=calls))
    result = run("chat", "hi", expect=7)
    assert "tool_calls" in result.stderr or "function" in result.stderr


def test_content_parts_without_text_are_skipped(server, run):
    server.json(completion([{"type": "text", "text": None}, {"type": "text", "text": "ok"}]))
    assert run("chat", "hi").stdout == "ok\n"


def test_a_lone_surrogate_in_the_answer_is_written_as_its_escape(server, run):
    server.json(completion("a\ud800b"))
    assert run("chat", "hi").stdout == "a\\ud800b\n"


@pytest.mark.parametrize("flag", ["--schema", "--tools"])
def test_schema_and_tools_files_that_are_not_utf8_exit_2(server, run, tmp_path, flag):
    path = tmp_path / "x.json"
    path.write_bytes(b'{"title": "\xff"}' if flag == "--schema" else b'[{"name": "\xff"}]')
    result = run("chat", "hi", flag, str(path), expect=2)
    assert "not valid UTF-8" in result.stderr and server.requests == []


def test_option_value_nan_is_kept_as_a_string(run):
    body = json.loads(run("chat", "hi", "--dry-run", "-o", "x=NaN", "-o", "y=1e999").stdout)
    assert body["x"] == "NaN" and body["y"] == "1e999"


@pytest.mark.parametrize("args", [["-o", 'user="\\ud800"'], ["--schema", '{"title": "\\ud800"}'],
                                  ["--tools-inline"]])
def test_lone_surrogate_escapes_in_json_flags_exit_2(run, tmp_path, args):
    if args == ["--tools-inline"]:
        path = tmp_path / "m.json"
        path.write_text('[{"role": "user", "content": "a\\ud800b"}]')
        args = ["--messages", str(path)]
    result = run("chat", "hi" if args[0] != "--messages" else "--dry-run", *args,
                 "--dry-run", expect=2)
    assert "surrogate" in result.stderr


@pytest.mark.parametrize("conv", ['[{"role": "user", "content": [{"type": "text", "text": 5}]}]',
                                  '[{"role": "assistant", "content": null, "tool_calls": "oops"},'
                                  ' {"role": "user", "content": "hi"}]'])
def test_messages_with_malformed_parts_or_calls_exit_2(run, tmp_path, conv):
    path = tmp_path / "m.json"
    path.write_text(conv)
    run("price", "--messages", str(path), expect=2)
    run("chat", "--dry-run", "--messages", str(path), expect=2)


def test_tools_that_are_not_objects_exit_2(run, tmp_path):
    path = tmp_path / "t.json"
    path.write_text("[5]")
    assert "--tools" in run("chat", "hi", "--dry-run", "--tools", str(path), expect=2).stderr


# ---- a stdout that cannot be written ---------------------------------------------------


class FailingStdout(io.BytesIO):
    def __init__(self, number: int) -> None:
        super().__init__()
        self.number = number

    def write(self, data: bytes) -> int:  # type: ignore[override]
        raise OSError(self.number, os.strerror(self.number))


@pytest.mark.parametrize("number", [errno.ENOSPC, errno.EIO, errno.EBADF])
def test_output_that_cannot_be_written_is_reported_not_called_a_bug(isolated_env, number):
    streams = Streams.for_test(env={**isolated_env, "OPENROUTER_API_KEY": API_KEY})
    streams.stdout = FailingStdout(number)
    code = main(["chat", "hi", "--dry-run"], streams)
    err = streams.stderr.getvalue().decode()
    assert code == 1
    assert err == f"orcli: error: cannot write output: {os.strerror(number)}\n"


def test_other_os_errors_are_still_internal_errors(isolated_env):
    streams = Streams.for_test(env={**isolated_env, "OPENROUTER_API_KEY": API_KEY})
    streams.stdout = FailingStdout(errno.ENOMEM)
    assert main(["chat", "hi", "--dry-run"], streams) == 1
    assert "this is a bug" in streams.stderr.getvalue().decode()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
def test_a_full_disk_in_a_real_process_gives_one_line_and_exit_1(child_env):
    # The bytes that could not be written must not fail again at exit (exit 120).
    with open("/dev/full", "wb") as full:
        child = subprocess.run([sys.executable, "-m", "orcli", "chat", "hi", "--dry-run"],
                               stdout=full, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               env=child_env, timeout=30)
    assert child.returncode == 1
    assert child.stderr.decode() == "orcli: error: cannot write output: " \
                                    f"{os.strerror(errno.ENOSPC)}\n"


def test_a_closed_stdout_gives_one_line_and_exit_1(child_env):
    # `orcli chat hi >&-`: Python starts with sys.stdout set to None.
    command = f"exec {sys.executable} -m orcli chat hi --dry-run >&-"
    child = subprocess.run(["bash", "-c", command], stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, env=child_env, timeout=30)
    assert child.returncode == 1
    assert child.stderr.decode() == "orcli: error: cannot write output: " \
                                    f"{os.strerror(errno.EBADF)}\n"


def test_input_past_the_cap_exits_2_and_sends_nothing(server, run, tmp_path, monkeypatch):
    import orcli.io.inputs

    monkeypatch.setattr(orcli.io.inputs, "MAX_INPUT_BYTES", 1000)
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 1001)
    assert "larger than" in run("chat", "hi", "-f", str(path), expect=2).stderr
    assert "stdin is larger than" in run("chat", stdin=b"y" * 1001, expect=2).stderr
    run("chat", "--dry-run", stdin=b"y" * 1000)  # exactly at the cap is fine
    assert server.requests == []


def test_stdin_is_read_under_a_256_mib_address_space_limit(child_env):
    # A container's memory limit: reading must not reserve the whole cap up front.
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (256 << 20, 256 << 20))"
    script = f"{limit}\nimport sys\nfrom orcli.__main__ import main\nsys.exit(main(sys.argv[1:]))"
    child = subprocess.run([sys.executable, "-c", script, "chat", "--dry-run"], input=b"hi",
                           capture_output=True, env=child_env, timeout=60)
    assert child.returncode == 0, child.stderr.decode()
    assert json.loads(child.stdout)["messages"][0]["content"] == "hi"


def test_dev_zero_as_a_file_is_refused_not_read_forever(run):
    assert "larger than" in run("chat", "hi", "--dry-run", "-f", "/dev/zero", expect=2).stderr
