"""-C FILE at the store layer: reading, the -s rule, atomic saves and the lock."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from orcli.errors import ExitStatus, UsageError
from orcli.store import conversation as store
from orcli.store.conversation import open_conversation
from tests.conftest import API_KEY
from tests.fake_openrouter import (
    DONE,
    ERR_400_MODEL,
    PROCESSING,
    chunk,
    completion,
    data,
    stream_of,
    usage_chunk,
)
from tests.test_guards import cache_models
from tests.test_price import catalog_model
from tests.test_stream import Gate, start

USER = {"role": "user", "content": "hi"}
ANSWER = {"role": "assistant", "content": "Hello!"}


def turn(who: str, n: int) -> tuple[dict, dict]:
    return ({"role": "user", "content": f"{who} {n}"},
            {"role": "assistant", "content": f"{who} {n} answered"})


def saved(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("existing", [None, b"", b"  \n", b"[]"],
                         ids=["missing", "empty (mktemp)", "blank", "empty array"])
def test_a_missing_or_empty_file_is_a_new_conversation(tmp_path: Path,
                                                        existing: bytes | None) -> None:
    path = tmp_path / "chat.json"
    if existing is not None:
        path.write_bytes(existing)
    with open_conversation(str(path)) as conv:
        assert conv.is_new and conv.messages == []
        conv.check_system("be brief")  # -s starts a new conversation
        conv.save({"role": "system", "content": "be brief"}, USER, ANSWER)
    assert saved(path) == [{"role": "system", "content": "be brief"}, USER, ANSWER]


def test_an_existing_file_is_continued_and_refuses_s(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_text(json.dumps([USER, ANSWER]))
    with open_conversation(str(path)) as conv:
        assert conv.messages == [USER, ANSWER] and not conv.is_new
        with pytest.raises(UsageError, match="-s applies only to a new conversation"):
            conv.check_system("be brief")
        conv.save(*turn("me", 2))
    assert saved(path) == [USER, ANSWER, *turn("me", 2)]


def test_the_file_keeps_non_ascii_text_readable(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    with open_conversation(str(path)) as conv:
        conv.save({"role": "user", "content": "café ☕"}, ANSWER)
    assert "café ☕" in path.read_text(encoding="utf-8")


BAD_FILES = {
    "not json": (b"{oops", "not valid JSON"),
    "an object": (b'{"role": "user"}', "non-empty JSON array"),
    "a bad message": (b'[{"role": "robot", "content": "x"}]', "message 0: role"),
    "not utf-8": (b'[{"role": "user", "content": "\xff"}]', "not valid UTF-8"),
}


@pytest.mark.parametrize(("data", "needle"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_exits_2_naming_it_and_stays_as_it_was(tmp_path: Path, data: bytes,
                                                          needle: str) -> None:
    path = tmp_path / "chat.json"
    path.write_bytes(data)
    with pytest.raises(UsageError) as caught, open_conversation(str(path)):
        pass
    assert caught.value.status == ExitStatus.USAGE
    assert f"-C {path}" in caught.value.message and needle in caught.value.message
    assert path.read_bytes() == data


def test_a_save_keeps_the_files_permissions(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_text(json.dumps([USER, ANSWER]))
    path.chmod(0o600)
    with open_conversation(str(path)) as conv:
        conv.save(*turn("me", 2))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_symlinked_file_stays_a_link_to_the_updated_target(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text(json.dumps([USER, ANSWER]))
    link = tmp_path / "link.json"
    link.symlink_to(target)
    with open_conversation(str(link)) as conv:
        conv.save(*turn("me", 2))
    assert link.is_symlink()
    assert saved(target) == [USER, ANSWER, *turn("me", 2)]


def test_a_failed_save_leaves_the_file_as_it_was_and_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "chat.json"
    before = json.dumps([USER, ANSWER]).encode()
    path.write_bytes(before)

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store.os, "fsync", disk_full)
    with pytest.raises(UsageError, match="cannot save it"), \
            open_conversation(str(path)) as conv:
        conv.save(*turn("me", 2))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chat.json", "chat.json.lock"]


def test_a_turn_given_up_before_saving_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    before = json.dumps([USER, ANSWER]).encode()
    path.write_bytes(before)
    with pytest.raises(KeyboardInterrupt), open_conversation(str(path)):
        raise KeyboardInterrupt  # Ctrl-C while the answer was coming
    assert path.read_bytes() == before


def test_a_directory_that_cannot_hold_the_file_is_refused_before_anything_is_sent(
        tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot create its lock file"), \
            open_conversation(str(tmp_path / "no-such-dir" / "chat.json")):
        pass


# A child process that appends turns to FILE through the real store code, and says
# "WAITING" on stdout when another process holds FILE.
APPENDER = """
import sys
from orcli.store.conversation import open_conversation
path, who, turns = sys.argv[1], sys.argv[2], int(sys.argv[3])
for n in range(turns):
    with open_conversation(path, lambda note: print("WAITING", flush=True)) as conv:
        conv.save({"role": "user", "content": f"{who} {n}"},
                  {"role": "assistant", "content": f"{who} {n} answered"})
"""


def appender(path: Path, who: str, turns: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", APPENDER, str(path), who, str(turns)],
                            stdout=subprocess.PIPE, text=True)


def test_two_processes_appending_to_one_file_lose_no_turn(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    children = [appender(path, who, 40) for who in ("a", "b")]
    for child in children:
        child.communicate(timeout=60)
        assert child.returncode == 0
    messages = saved(path)
    assert len(messages) == 2 * 2 * 40
    for who in ("a", "b"):
        mine = [m for m in messages if m["content"].split()[0] == who]
        assert mine == [m for n in range(40) for m in turn(who, n)]
    # Turns never interleave: every user message is followed by its own answer.
    for user, answer in zip(messages[::2], messages[1::2], strict=True):
        assert answer["content"] == user["content"] + " answered"


def test_the_second_process_waits_for_the_first_turn_to_be_saved(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    with open_conversation(str(path)) as conv:
        child = appender(path, "second", 1)
        assert child.stdout is not None
        assert child.stdout.readline() == "WAITING\n"  # blocked on our lock
        conv.save(*turn("first", 0))
    child.communicate(timeout=60)
    assert child.returncode == 0
    assert saved(path) == [*turn("first", 0), *turn("second", 0)]


# ---- end to end: chat and stream against the fake server --------------------------------


def sent_messages(server, n: int = -1) -> list[dict]:
    return server.requests[n].json()["messages"]


def test_a_three_turn_conversation_sends_and_keeps_every_turn(server, run, tmp_path) -> None:
    path = tmp_path / "chat.json"
    server.json(completion("Paris."))
    run("chat", "-C", str(path), "-s", "Answer in one word.", "Capital of France?")
    server.sse(stream_of(["Lyon", "."]))
    run("stream", "-C", str(path), "Second city?")
    server.json(completion("Marseille."))
    run("chat", "-C", str(path), "Third?")
    system = {"role": "system", "content": "Answer in one word."}
    turns = [{"role": "user", "content": "Capital of France?"},
             {"role": "assistant", "content": "Paris."},
             {"role": "user", "content": "Second city?"},
             {"role": "assistant", "content": "Lyon."},
             {"role": "user", "content": "Third?"},
             {"role": "assistant", "content": "Marseille."}]
    assert saved(path) == [system, *turns]
    assert sent_messages(server, 0) == [system, turns[0]]
    assert sent_messages(server, 1) == [system, *turns[:3]]
    assert sent_messages(server, 2) == [system, *turns[:5]]


@pytest.mark.parametrize("command", ["chat", "stream"])
def test_an_answer_with_a_lone_surrogate_is_saved_and_the_next_turn_goes_out(
        server, run, tmp_path, command) -> None:
    # A broken server may send "\\udc00" escaped; UTF-8 cannot hold it, so the
    # file keeps U+FFFD in its place and the conversation stays usable.
    path = tmp_path / "chat.json"
    if command == "chat":
        server.json(completion("a\udc00b"))  # json.dumps escapes it
    else:
        server.sse([b"data: " + json.dumps(chunk("a\udc00b")).encode() + b"\n\n",
                    data(chunk("", finish_reason="stop")), DONE])
    run(command, "-C", str(path), "first")
    assert saved(path)[-1]["content"] == "a\ufffdb"
    server.json(completion("fine"))
    run("chat", "-C", str(path), "second")
    assert sent_messages(server)[1]["content"] == "a\ufffdb"


def test_s_with_an_existing_conversation_exits_2_and_sends_nothing(run, tmp_path) -> None:
    path = tmp_path / "chat.json"
    path.write_text(json.dumps([USER, ANSWER]))
    result = run("chat", "-C", str(path), "-s", "be brief", "more", expect=2)
    assert "-s applies only to a new conversation" in result.stderr


def test_c_and_messages_together_exit_2(run, tmp_path) -> None:
    messages = tmp_path / "m.json"
    messages.write_text(json.dumps([USER]))
    result = run("chat", "-C", str(tmp_path / "chat.json"), "--messages", str(messages),
                 expect=2)
    assert "--messages cannot be added" in result.stderr


def test_a_failed_call_leaves_the_file_as_it_was(server, run, tmp_path) -> None:
    path = tmp_path / "chat.json"
    before = json.dumps([USER, ANSWER]).encode()
    path.write_bytes(before)
    server.json(ERR_400_MODEL, status=400)
    run("chat", "-C", str(path), "again", expect=4)
    server.sse([data(chunk("half an answer"))], cut=True)
    run("stream", "-C", str(path), "again", "--retries", "0", expect=7)
    assert path.read_bytes() == before
    missing = tmp_path / "new.json"
    server.json(ERR_400_MODEL, status=400)
    run("chat", "-C", str(missing), "hi", expect=4)
    assert not missing.exists()


def test_ctrl_c_mid_stream_leaves_the_file_as_it_was(server, isolated_env, tmp_path) -> None:
    path = tmp_path / "chat.json"
    before = json.dumps([USER, ANSWER]).encode()
    path.write_bytes(before)
    gate = Gate()
    server.sse([PROCESSING, data(chunk("partial")), gate, data(chunk(" never")), DONE])
    env = isolated_env | {"OPENROUTER_API_KEY": API_KEY, "OPENROUTER_BASE_URL": server.base_url}
    proc = start(["stream", "-C", str(path), "more"], env)
    try:
        assert os.read(proc.stdout.fileno(), 100) == b"partial"
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    finally:
        gate.set()
    assert proc.returncode == 130
    assert path.read_bytes() == before


def detail_chunk(details: list[dict]) -> dict:
    piece = chunk()
    piece["choices"][0]["delta"]["reasoning_details"] = details
    return piece


SIGNED = {"type": "reasoning.text", "format": "anthropic-claude-v1", "index": 0}


def test_streamed_reasoning_goes_back_unchanged_on_the_next_turn(server, run,
                                                                tmp_path) -> None:
    path = tmp_path / "chat.json"
    server.sse([
        data(detail_chunk([{**SIGNED, "text": "Think ", "signature": None}])),
        data(detail_chunk([{**SIGNED, "text": "hard."}])),
        data(detail_chunk([{**SIGNED, "text": "", "signature": "EqQBCkYIBxgC"}])),
        data(chunk("42")), data(chunk("", finish_reason="stop")), data(usage_chunk()), DONE])
    run("stream", "-C", str(path), "question")
    server.json(completion("Yes."))
    run("chat", "-C", str(path), "sure?")
    assistant = {"role": "assistant", "content": "42", "reasoning": "Think hard.",
                 "reasoning_details": [
                     {**SIGNED, "text": "Think hard.", "signature": "EqQBCkYIBxgC"}]}
    assert sent_messages(server)[1] == assistant
    assert saved(path)[1] == assistant


def test_a_whole_answers_reasoning_and_tool_calls_are_kept_as_the_api_gave_them(
        server, run, tmp_path) -> None:
    path = tmp_path / "chat.json"
    details = [{"type": "reasoning.encrypted", "data": "gAAAAB", "id": "rs_1",
                "format": "openai-responses-v1", "index": 0}]
    answer = completion(None, finish_reason="tool_calls", reasoning="Look it up.", tool_calls=[
        {"id": "call_1", "type": "function",
         "function": {"name": "weather", "arguments": "{\"city\": \"Paris\"}"}}])
    answer["choices"][0]["message"]["reasoning_details"] = details
    server.json(answer)
    run("chat", "-C", str(path), "weather?")
    assert saved(path)[1] == {
        "role": "assistant", "content": "", "reasoning": "Look it up.",
        "reasoning_details": details,
        "tool_calls": [{"id": "call_1", "type": "function",
                        "function": {"name": "weather", "arguments": "{\"city\": \"Paris\"}"}}]}


def test_the_guards_count_the_whole_conversation(server, run, isolated_env, tmp_path) -> None:
    cache_models(isolated_env, server.base_url, [catalog_model("small/model", "0", "0", 200)])
    path = tmp_path / "chat.json"
    long_turn = [{"role": "user", "content": "word " * 400}, ANSWER]
    path.write_text(json.dumps(long_turn))
    result = run("chat", "-m", "small/model", "-C", str(path), "hi", expect=8)
    assert "context of 200" in result.stderr
    server.json(completion("ok"))
    run("chat", "-m", "small/model", "hi")  # the same prompt alone fits


def test_dry_run_shows_the_whole_conversation_and_saves_nothing(run, tmp_path) -> None:
    path = tmp_path / "chat.json"
    before = json.dumps([USER, ANSWER]).encode()
    path.write_bytes(before)
    result = run("chat", "-C", str(path), "--dry-run", "more", key=False)
    assert json.loads(result.stdout)["messages"] == [USER, ANSWER,
                                                     {"role": "user", "content": "more"}]
    assert path.read_bytes() == before
