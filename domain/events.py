"""The event vocabulary: everything that crosses Redis, and what clients receive.

An event is serialized ONCE by its publisher into an envelope:

    <header JSON> "\n" <frame JSON>

The header (`EventHeader`) is all a worker parses to route, order and de-duplicate; the
frame is the exact text every WebSocket and SSE subscriber receives, so a worker never
re-serializes an event per subscriber (or even decodes its body).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

_SEPARATOR = b"\n"


class UserRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    channel: str


class MessageEvent(_Event):
    """A chat message (durable: carries the room's seq)."""

    type: Literal["message"] = "message"
    seq: int
    id: int
    author: UserRef
    body: str
    client_id: str | None
    created_at: datetime

    @field_serializer("created_at")
    def _iso_utc(self, value: datetime) -> str:
        return value.isoformat().replace("+00:00", "Z")


class TypingEvent(_Event):
    type: Literal["typing"] = "typing"
    user: UserRef


class JoinEvent(_Event):
    type: Literal["join"] = "join"
    user: UserRef


class LeaveEvent(_Event):
    type: Literal["leave"] = "leave"
    user: UserRef


class PresenceEvent(_Event):
    type: Literal["presence"] = "presence"
    online: list[UserRef]


DurableEvent = MessageEvent
Event = MessageEvent | TypingEvent | JoinEvent | LeaveEvent | PresenceEvent


class EventHeader(BaseModel):
    """What a worker reads of an envelope: origin node, event type, seq for durable ones."""

    model_config = ConfigDict(frozen=True)

    origin: str = Field(alias="o")
    type: str = Field(alias="t")
    seq: int | None = Field(default=None, alias="s")


def encode(event: Event, origin: str) -> bytes:
    """Serialize an event once, with its routing header."""
    seq = event.seq if isinstance(event, MessageEvent) else None
    header = EventHeader.model_validate({"o": origin, "t": event.type, "s": seq})
    return (
        header.model_dump_json(by_alias=True, exclude_none=True).encode()
        + _SEPARATOR
        + event.model_dump_json().encode()
    )


def decode(envelope: bytes) -> tuple[EventHeader, str]:
    """Split an envelope into its header and the frame text sent to clients.

    Raises ValueError on an envelope that is not Parley's (never trusted blindly: anything
    can publish on a Redis channel).
    """
    head, sep, frame = envelope.partition(_SEPARATOR)
    if not sep:
        raise ValueError("not a Parley envelope")
    return EventHeader.model_validate_json(head), frame.decode()
