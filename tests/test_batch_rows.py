"""Batch input rows -> ids and bodies (orcli.request.batch_rows), and the adaptive limit."""

from __future__ import annotations

import json
import re

import pytest

from orcli.commands.batch_state import AdaptiveLimit
from orcli.errors import UsageError
from orcli.request.batch_rows import Defaults, in_shard, parse_row, parse_shard

MODEL = "mistralai/devstral-2512"
FLAGS = Defaults({"model": MODEL, "temperature": 0.5, "max_tokens": 100}, system="be brief")


def body(line: str, number: int = 1, defaults: Defaults = FLAGS) -> dict:
    return parse_row(line.encode(), number, defaults).body_dict()


def test_string_row_is_the_prompt_with_the_flags_as_defaults():
    row = parse_row(b'"summarize this"\n', 7, FLAGS)
    assert row.id == "7" and row.line == 7
    assert row.body_dict() == {"model": MODEL, "temperature": 0.5, "max_tokens": 100,
                               "messages": [{"role": "system", "content": "be brief"},
                                            {"role": "user", "content": "summarize this"}]}


def test_row_fields_win_over_flags():
    sent = body('{"id": "t1", "prompt": "hi", "model": "openai/gpt-4o", "temperature": 0,'
                ' "system": "row system", "top_k": 40}')
    assert sent["model"] == "openai/gpt-4o" and sent["temperature"] == 0
    assert sent["top_k"] == 40 and sent["max_tokens"] == 100
    assert sent["messages"][0] == {"role": "system", "content": "row system"}


def test_row_messages_with_their_own_system_message_get_no_flag_system():
    messages = [{"role": "system", "content": "mine"}, {"role": "user", "content": "q"}]
    assert body(json.dumps({"messages": messages}))["messages"] == messages


def test_prompt_after_messages_is_the_last_user_turn():
    sent = body(json.dumps({"messages": [{"role": "assistant", "content": "a"}],
                            "prompt": "next"}), defaults=Defaults({"model": MODEL}))
    assert sent["messages"] == [{"role": "assistant", "content": "a"},
                                {"role": "user", "content": "next"}]


def test_openai_batch_line_takes_custom_id_and_body():
    line = json.dumps({"custom_id": "req-1", "method": "POST", "url": "/v1/chat/completions",
                       "body": {"model": "x/y", "messages": [{"role": "user", "content": "q"}],
                                "max_tokens": 5}})
    row = parse_row(line.encode(), 3, Defaults({"model": MODEL}))
    assert row.id == "req-1"
    assert row.body_dict() == {"model": "x/y", "messages": [{"role": "user", "content": "q"}],
                               "max_tokens": 5}


def test_integer_ids_become_strings():
    assert parse_row(b'{"id": 42, "prompt": "q"}', 1, FLAGS).id == "42"


@pytest.mark.parametrize("line, problem", [
    ('{"prompt": ', "not valid JSON"),
    ('[1, 2]', "expected a JSON string or object, not an array"),
    ('{"id": "a"}', "needs prompt or messages"),
    ('{"prompt": 5}', "prompt must be a string"),
    ('{"prompt": "q", "temperature": 3}', "--temperature must be between 0 and 2"),
    ('{"prompt": "q", "max_tokens": 0}', "max_tokens must be a whole number"),
    ('{"prompt": "q", "stream": true}', "batch does not stream"),
    ('{"prompt": "q", "id": true}', "id must be a non-empty string or an integer"),
    ('{"messages": [{"role": "robot", "content": "x"}]}', "role must be one of"),
    ('{"custom_id": "c", "url": "/v1/embeddings", "body": {"messages": []}}',
     "url must be /v1/chat/completions"),
])
def test_bad_rows_exit_2_naming_the_line(line, problem):
    with pytest.raises(UsageError) as caught:
        parse_row(line.encode(), 12, FLAGS)
    assert re.match(r"line 12\b", caught.value.message)
    assert problem in caught.value.message


def test_row_that_is_not_utf8_is_refused_naming_the_line():
    with pytest.raises(UsageError, match="line 4 is not valid UTF-8"):
        parse_row(b'"caf\xe9"', 4, FLAGS)


def test_shard_1_of_3_takes_lines_1_4_7():
    shard = parse_shard("1/3")
    assert [n for n in range(1, 10) if in_shard(n, shard)] == [1, 4, 7]
    assert [n for n in range(1, 10) if in_shard(n, parse_shard("3/3"))] == [3, 6, 9]


@pytest.mark.parametrize("text", ["0/3", "4/3", "1", "a/b", "1/0"])
def test_bad_shard_is_refused(text):
    with pytest.raises(UsageError, match="--shard expects K/N"):
        parse_shard(text)


# ---- the adaptive limit, on an injected clock -----------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_pauses_every_start_for_the_advised_time_and_halves():
    clock = Clock()
    limit = AdaptiveLimit(16, clock)
    epoch = limit.started()
    limit.slow_down(5.0, epoch)
    assert limit.limit == 8 and not limit.can_start()
    clock.now += 4.9
    assert not limit.can_start()
    clock.now += 0.2
    assert limit.can_start()


def test_a_burst_of_429s_from_one_epoch_halves_once():
    limit = AdaptiveLimit(16, Clock())
    epochs = [limit.started() for _ in range(16)]
    for epoch in epochs:
        limit.slow_down(0.0, epoch)
    assert limit.limit == 8
    limit.slow_down(0.0, limit.started())  # a row started after the halving
    assert limit.limit == 4


def test_limit_never_goes_below_one_and_grows_one_per_ten_successes_up_to_most():
    limit = AdaptiveLimit(3, Clock())
    for _ in range(3):
        limit.slow_down(0.0, limit.epoch)
    assert limit.limit == 1
    for _ in range(9):
        limit.started()
        limit.finished(ok=True)
    assert limit.limit == 1
    limit.started()
    limit.finished(ok=False)  # failures do not count
    assert limit.limit == 1
    limit.started()
    limit.finished(ok=True)
    assert limit.limit == 2
    for _ in range(40):
        limit.started()
        limit.finished(ok=True)
    assert limit.limit == 3


def test_in_flight_rows_hold_the_limit():
    limit = AdaptiveLimit(2, Clock())
    limit.started()
    limit.started()
    assert not limit.can_start()
    limit.finished(ok=True)
    assert limit.can_start()
