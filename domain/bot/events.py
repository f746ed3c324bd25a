"""The bot's events on `room:{id}` (PROTOCOL.md v1.1 "Bot conversations").

Stream events are ephemeral (no seq) and positioned by stream id + index in the envelope
header (domain/events.py), so the hub can drop indexes a subscriber already has:

- `stream_start` carries index -1 in the header only (a ClassVar, not on the wire): it is
  admitted once per subscriber, before index 0, and a copy that reaches a subscriber both
  from the catch-up and live is dropped like a repeated delta.
- `delta` carries its index 0, 1, 2, ...
- `stream_end` carries no index: it is never filtered (it is sent once per answer).

The bot's durable answer is a `message` event (seq) whose author has `bot: true` and which
adds `reply_to`, `triage`, `usage` and, when there are some, `doctors`: up to three
available doctors of the recommended specialty (domain/care/doctors.py).
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from domain.care.doctors import DoctorCard
from domain.events import MessageEvent, Position, UserRef, _Event
from models import Message

BOT_NAME = "Symptom2Specialist"
BOT_ID = 0  # no user has id 0: clients tell the bot by `author.bot`

Status = Literal["complete", "cancelled", "failed", "interrupted"]
UrgencyName = Literal["emergency", "urgent", "routine"]


class BotAuthor(UserRef):
    bot: Literal[True] = True


BOT = BotAuthor(id=BOT_ID, name=BOT_NAME)


class SpecialtyRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    name: str


class TriageInfo(BaseModel):
    """PROTOCOL.md's `triage` object."""

    model_config = ConfigDict(frozen=True)

    urgency: UrgencyName
    specialty: SpecialtyRef | None
    red_flags: list[str]
    provider: str
    status: Status


class UsageInfo(BaseModel):
    """Token usage as the provider reported it; `estimated` when it reported none (the
    answer was cut before the final usage chunk): then completion_tokens counts chunks."""

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    estimated: bool = False


class StreamError(BaseModel):
    """Why an answer failed. `code` is a protocol error code (rate_limited: the model's
    server refused for quota; unavailable: it failed or was too slow; internal: a bug);
    `reason` says which (upstream_rate_limited, upstream_error, first_token_timeout,
    idle_timeout, total_timeout, internal)."""

    model_config = ConfigDict(frozen=True)

    code: str
    reason: str
    message: str


class StreamStartEvent(_Event):
    position: ClassVar[Position | None] = "stream"
    index: ClassVar[int] = -1  # header only: see the module docstring
    type: Literal["stream_start"] = "stream_start"
    stream: str
    reply_to: int


class DeltaEvent(_Event):
    position: ClassVar[Position | None] = "stream"
    type: Literal["delta"] = "delta"
    stream: str
    index: int
    text: str


class StreamEndEvent(_Event):
    position: ClassVar[Position | None] = "stream"
    type: Literal["stream_end"] = "stream_end"
    stream: str
    status: Status
    seq: int | None = None  # the durable answer; absent only if the conversation is gone
    error: StreamError | None = None

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None}


class BotMessageEvent(MessageEvent):
    """The bot's durable answer (or emergency message): a `message` with bot fields."""

    author: BotAuthor
    reply_to: int
    triage: TriageInfo
    usage: UsageInfo | None = None
    doctors: list[DoctorCard] | None = None

    @model_serializer(mode="wrap")
    def _drop_no_doctors(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not data.get("doctors"):
            data.pop("doctors", None)
        return data


class DeltaEncoder:
    """The envelopes of one answer's deltas, byte-for-byte what
    `encode(DeltaEvent(...), origin)` makes, without building and validating two pydantic
    models per delta: everything but the index and the text is serialized once per answer
    (the hot path of a streamed answer is one of these per coalescing window)."""

    __slots__ = ("_frame", "_header")

    def __init__(self, origin: str, channel: str, stream: str) -> None:
        s = _json(stream)
        self._header = f'{{"o":{_json(origin)},"t":"delta","x":{s},"i":'
        self._frame = f'}}\n{{"channel":{_json(channel)},"type":"delta","stream":{s},"index":'

    def envelope(self, index: int, text: str) -> bytes:
        i = str(index)
        at = round(time.time(), 3)  # the header's publish time (`w`), for delivery lag
        return f'{self._header}{i},"w":{at!r}{self._frame}{i},"text":{_json(text)}}}'.encode()


def _json(value: str) -> str:
    # Compact, non-ASCII kept as UTF-8: what pydantic's model_dump_json writes.
    return json.dumps(value, ensure_ascii=False)


def bot_message_event(message: Message) -> BotMessageEvent:
    """The event for a stored bot message (author_id NULL)."""
    assert message.reply_to is not None and message.triage is not None
    return BotMessageEvent(
        channel=f"room:{message.room_id}",
        seq=message.seq,
        id=message.id,
        author=BOT,
        body=message.body,
        client_id=None,
        created_at=message.created_at,
        reply_to=message.reply_to,
        triage=TriageInfo.model_validate(message.triage),
        usage=UsageInfo.model_validate(message.usage) if message.usage is not None else None,
        doctors=[DoctorCard.model_validate(d) for d in message.doctors or ()] or None,
    )
