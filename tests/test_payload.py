"""Request building: pure, so the same options always give the same body."""

from __future__ import annotations

import pytest

from orcli.errors import UsageError
from orcli.options import BodyOptions
from orcli.request.payload import BodyFiles, build_payload

MESSAGES = [{"role": "user", "content": "hi"}]


def test_building_twice_gives_the_same_body_and_changes_no_option() -> None:
    opts = BodyOptions(temperature=0.5, options=("top_k=40",), schema="s.json",
                       tools="t.json")
    files = BodyFiles(schema='{"type": "object"}', schema_name="s",
                      tools='[{"type": "function", "function": {"name": "f"}}]')
    first = build_payload("m", MESSAGES, opts, files)
    assert build_payload("m", MESSAGES, opts, files) == first
    assert opts.schema == "s.json" and opts.tools == "t.json"


@pytest.mark.parametrize(("flags", "option", "named"), [
    ({"temperature": 0.5}, "temperature=1.9", "-t/--temperature"),
    ({"max_tokens": 10}, "max_tokens=20", "--max-tokens"),
    ({"stop": ("x",)}, "stop=y", "--stop"),
    ({"json_object": True}, 'response_format={"type": "text"}', "--schema/--json-object"),
])
def test_a_field_set_by_its_flag_and_by_o_is_refused_naming_both(flags, option, named) -> None:
    with pytest.raises(UsageError) as caught:
        build_payload("m", MESSAGES, BodyOptions(options=(option,), **flags))
    key = option.split("=")[0]
    assert f"-o {key}" in caught.value.message and named in caught.value.message


@pytest.mark.parametrize("option", [
    "temperature=1.9x", "temperature=5", "top_p=-1", "max_tokens=ten", "max_tokens=0",
    "seed=1.5", "stop=[1]", "tools={}", "presence_penalty=true",
])
def test_an_o_value_for_a_flagged_field_gets_the_flags_checks(option) -> None:
    with pytest.raises(UsageError) as caught:
        build_payload("m", MESSAGES, BodyOptions(options=(option,)))
    assert f"-o {option.split('=')[0]}" in caught.value.message


def test_an_o_value_that_passes_the_checks_is_sent() -> None:
    body = build_payload("m", MESSAGES, BodyOptions(options=("temperature=1.5", "stop=[\"a\"]",
                                                             "max_tokens=7")))
    assert (body["temperature"], body["stop"], body["max_tokens"]) == (1.5, ["a"], 7)
