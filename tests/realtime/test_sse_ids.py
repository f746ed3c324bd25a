"""SSE ids and `Last-Event-ID`: every position a listener holds survives a reconnect."""

from __future__ import annotations

import pytest

from domain.errors import Invalid
from realtime.channels import StreamPosition
from realtime.connection import Outgoing
from realtime.sse import Resume, _EventIds, resume_point


def test_without_last_event_id_the_query_since_is_used() -> None:
    assert resume_point(None, 7) == Resume(since=7)
    assert resume_point("  ", None) == Resume()


def test_a_durable_id_resumes_after_that_seq() -> None:
    assert resume_point("21", 3) == Resume(since=21)


def test_a_stream_id_resumes_the_seq_and_the_stream() -> None:
    assert resume_point("21/s-7f3a:5", None) == Resume(since=21, stream=StreamPosition("s-7f3a", 5))


@pytest.mark.parametrize(
    "bad",
    ["-1", "abc", "1.5", "21/", "21/s-7f3a", "21/:5", "21/s:x", str(2**63), "1/" + "s" * 65 + ":1"],
)
def test_an_id_this_server_never_sent_is_invalid(bad: str) -> None:
    with pytest.raises(Invalid):
        resume_point(bad, None)


def test_ids_on_an_ordered_channel_carry_the_last_seq_into_stream_positions() -> None:
    ids = _EventIds(ordered=True, since=None)
    assert ids.of(Outgoing('{"type":"subscribed","head":20}'), "subscribed") is None
    assert ids.of(Outgoing("{}", "s-1:0", "delta"), "delta") == "20/s-1:0"
    assert ids.of(Outgoing("{}", "21", "message"), "message") == "21"
    assert ids.of(Outgoing("{}", "s-1:1", "delta"), "delta") == "21/s-1:1"
    # What the writer emits, the parser reads back to the same positions.
    assert resume_point("21/s-1:1", None) == Resume(since=21, stream=StreamPosition("s-1", 1))


def test_ids_on_a_snapshot_channel_are_versions() -> None:
    ids = _EventIds(ordered=False, since=None)
    assert ids.of(Outgoing("{}", "42", "board"), "board") == "42"
    assert ids.last_seq is None
