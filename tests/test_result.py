"""The one answer model: a stream's events folded into a Result."""

from __future__ import annotations

import pytest

from orcli.errors import ExitStatus, UpstreamError
from orcli.response.events import Content, Reasoning
from orcli.response.result import MAX_ANSWER_CHARS, ResultBuilder


def test_a_stream_that_never_stops_sending_text_is_given_up_on_not_held_forever() -> None:
    builder = ResultBuilder()
    builder.add(Reasoning("r" * (MAX_ANSWER_CHARS // 2)))
    builder.add(Content("x" * (MAX_ANSWER_CHARS // 2)))  # exactly the most: still kept
    with pytest.raises(UpstreamError) as caught:
        builder.add(Content("y"))
    assert caught.value.status == ExitStatus.UPSTREAM
    assert "more than 64 M characters" in caught.value.message
