"""The delta fast path writes exactly the envelope the generic encoder writes."""

from __future__ import annotations

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
    assert fast == encode(event, "node-1")
    header, frame = decode(fast)
    assert (header.type, header.stream, header.index) == ("delta", "s-7f3a9c01d2e4", 7)
    assert DeltaEvent.model_validate_json(frame) == event
