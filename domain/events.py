"""The event vocabulary: everything that crosses Redis, and what clients receive.

An event is serialized ONCE by its publisher into an envelope:

    <header JSON> "\n" <frame JSON>

The header (`EventHeader`) is all a worker parses to route, order and de-duplicate; the
frame is the exact text every WebSocket and SSE subscriber receives, so a worker never
re-serializes an event per subscriber (or even decodes its body).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

_SEPARATOR = b"\n"


class UserRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str


Position = Literal["seq", "version", "stream"]


class _Event(BaseModel):
    """An event on a channel. `position` (a class attribute, never serialized) names the
    field that orders it for its delivery mode: `seq` for durable events, `version` for
    latest-state snapshots, `stream` (+ `index`) for indexed streams; None for ephemeral."""

    model_config = ConfigDict(frozen=True)
    position: ClassVar[Position | None] = None

    channel: str


class MessageEvent(_Event):
    """A chat message (durable: carries the room's seq)."""

    position: ClassVar[Position | None] = "seq"
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
    """Who is online: at most the first 100 users by id in `online`, and `count`, how many
    users are online in all (v1.2; `online` is complete when its length equals `count`)."""

    type: Literal["presence"] = "presence"
    online: list[UserRef]
    count: int


class PresenceDiffEvent(_Event):
    """Who came and went in a crowded channel (v1.3, decision 0033): the `join`s and
    `leave`s of one short window merged, each user at most once (in `joined` if their last
    event was a join, in `left` if a leave), and `count`, the number of users online when
    it was sent. Applying `joined` (add) and `left` (remove) to the `presence` snapshot and
    taking `count` keeps a client's view equal to the server's."""

    type: Literal["presence_diff"] = "presence_diff"
    joined: list[UserRef]
    left: list[UserRef]
    count: int


DurableEvent = MessageEvent
Event = MessageEvent | TypingEvent | JoinEvent | LeaveEvent | PresenceEvent | PresenceDiffEvent


class EventHeader(BaseModel):
    """What a worker reads of an envelope: enough to route, order and de-duplicate.

    At most one position is set, by the event's delivery mode: `seq` (durable, ordered),
    `version` (a latest-state snapshot) or `stream` + `index` (an indexed stream such as an
    LLM answer). `to` restricts delivery to one user's connections (personal events on a
    shared channel, e.g. `rank`). `source` tags who caused the event (e.g. "telegram"), so a
    bridge can recognise its own messages and never loop them back.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    origin: str = Field(alias="o")
    type: str = Field(alias="t")
    seq: int | None = Field(default=None, alias="s")
    version: int | None = Field(default=None, alias="v")
    stream: str | None = Field(default=None, alias="x")
    index: int | None = Field(default=None, alias="i")
    to: int | None = Field(default=None, alias="u")
    source: str | None = Field(default=None, alias="g")
    # When the envelope was encoded (epoch seconds, ms precision): the start of the
    # delivery-lag measurement (domain/metrics.py). Wall clock: across hosts, skew adds in.
    at: float | None = Field(default=None, alias="w")


def encode(
    event: BaseModel, origin: str, *, to: int | None = None, source: str | None = None
) -> bytes:
    """Serialize an event once, with its routing header (its position read off the event:
    see `Positioned`)."""
    kind = getattr(event, "position", None)
    header = EventHeader(
        origin=origin,
        type=str(getattr(event, "type", "")),
        seq=getattr(event, "seq", None) if kind == "seq" else None,
        version=getattr(event, "version", None) if kind == "version" else None,
        stream=getattr(event, "stream", None) if kind == "stream" else None,
        index=getattr(event, "index", None) if kind == "stream" else None,
        to=to,
        source=source,
        at=round(time.time(), 3),
    )
    return (
        header.model_dump_json(by_alias=True, exclude_none=True).encode()
        + _SEPARATOR
        + event.model_dump_json().encode()
    )


# `to` of a personal batch: many users' personal events in ONE envelope (a board's `rank`
# events, up to one per member per snapshot: one Redis message and one header parse per
# worker instead of one per member). No user has id 0, so a worker that does not know
# batches (a rolling deploy) delivers none of it rather than all of it to everyone.
PERSONAL_BATCH = 0


def encode_personal(kind: str, frames: Sequence[tuple[int, str]], origin: str) -> bytes:
    """Serialize personal events of one type (`kind`) and no position, each for its user
    only, into one envelope: the header, then one line per event, `<user id> <frame>`.
    Each frame is a serialized event (JSON: it never holds a raw newline)."""
    header = EventHeader(origin=origin, type=kind, to=PERSONAL_BATCH, at=round(time.time(), 3))
    body = "\n".join(f"{user_id} {frame}" for user_id, frame in frames)
    return (
        header.model_dump_json(by_alias=True, exclude_none=True).encode()
        + _SEPARATOR
        + (body.encode())
    )


def split_personal(body: str) -> list[tuple[int, str]]:
    """A personal batch's (user id, frame text) pairs. Raises ValueError if malformed."""
    pairs = []
    for line in body.split("\n"):
        user, sep, frame = line.partition(" ")
        if not sep:
            raise ValueError("not a personal batch")
        pairs.append((int(user), frame))
    return pairs


def decode(envelope: bytes) -> tuple[EventHeader, str]:
    """Split an envelope into its header and the frame text sent to clients.

    Raises ValueError on an envelope that is not Parley's (never trusted blindly: anything
    can publish on a Redis channel).
    """
    head, sep, frame = envelope.partition(_SEPARATOR)
    if not sep:
        raise ValueError("not a Parley envelope")
    return EventHeader.model_validate_json(head), frame.decode()
