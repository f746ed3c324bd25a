"""The delta fast path writes exactly the envelope the generic encoder writes (but for
the publish time in the header, which is the clock's)."""

from __future__ import annotations

import json
import time

import pytest

from domain.bot.events import DeltaEncoder, DeltaEvent
from domain.events import decode, encode


@pytest.mark.parametrize(
    "text",
    [
        "An itchy red rash",
        "",
        'quotes " and \\ backslashes',
        "new\nlines\r\tand \x00\x1f controls",
        "non-ASCII: é, ü, 日本語, 😀, \u2028\u2029",
    ],
)
def test_a_delta_envelope_is_byte_for_byte_the_generic_one(text: str) -> None:
    fast = DeltaEncoder("node-1", "room:42", "s-7f3a9c01d2e4").envelope(7, text)
    event = DeltaEvent(channel="room:42", stream="s-7f3a9c01d2e4", index=7, text=text)
    generic = encode(event, "node-1")
    fast_head, _, fast_frame = fast.partition(b"\n")
    generic_head, _, generic_frame = generic.partition(b"\n")
    assert fast_frame == generic_frame
    fast_fields, generic_fields = json.loads(fast_head), json.loads(generic_head)
    assert list(fast_fields) == list(generic_fields)
    assert abs(fast_fields.pop("w") - generic_fields.pop("w")) < 5
    assert fast_fields == generic_fields
    header, frame = decode(fast)
    assert header.at is not None and abs(header.at - time.time()) < 5
    assert (header.type, header.stream, header.index) == ("delta", "s-7f3a9c01d2e4", 7)
    assert DeltaEvent.model_validate_json(frame) == event
