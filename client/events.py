"""Typed events: what a subscription yields.

One frozen model per event kind of PROTOCOL.md (v1 and the v1.1 additions). Parsing is
forgiving by design: unknown fields are ignored, and an unknown event type, or a known one
whose fields do not validate (a newer server), becomes a generic `Event` instead of an
error, so an old client keeps working against a newer server.

`Reset` is the one event the client makes up itself: the server could not replay a channel
from the position the client held (`recovered: false`); the application reloads that
channel's history through REST (`GET /api/v1/rooms/{id}/messages?after=`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

log = logging.getLogger("parley.client")

JsonObject = dict[str, JsonValue]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class User(_Model):
    id: int
    name: str
    bot: bool = False


class Specialty(_Model):
    code: str
    name: str


class Triage(_Model):
    urgency: str
    specialty: Specialty | None = None
    red_flags: list[str] = []
    provider: str | None = None
    status: str | None = None


class Doctor(_Model):
    """A doctor a bot answer suggests (the directory's card: no contact data)."""

    id: int
    name: str
    specialty: str
    city: str
    languages: list[str] = []
    available: bool = True


class _ChannelEvent(_Model):
    channel: str


# --- durable ---------------------------------------------------------------------------------


class MessageEvent(_ChannelEvent):
    """A stored message (durable: `seq` grows by one per durable event on the channel).

    Bot answers carry `reply_to` (the seq answered) and `triage`; `author.bot` is true;
    a final answer or an emergency reply may carry `doctors`: up to three available
    doctors of the recommended specialty (empty when the server suggested none).
    """

    type: Literal["message"] = "message"
    seq: int
    id: int
    author: User
    body: str
    client_id: str | None = None
    created_at: datetime
    reply_to: int | None = None
    triage: Triage | None = None
    doctors: list[Doctor] = []


# --- ephemeral -------------------------------------------------------------------------------


class TypingEvent(_ChannelEvent):
    type: Literal["typing"] = "typing"
    user: User


class PresenceEvent(_ChannelEvent):
    """Who is subscribed to the channel; sent after each (re)subscribe. `online` holds at
    most the first 100 users by id; `count` (v1.2; None from an older server) is how many
    are online in all."""

    type: Literal["presence"] = "presence"
    online: list[User]
    count: int | None = None


class PresenceDiffEvent(_ChannelEvent):
    """Who came and went in a crowded channel (v1.3): one window's `join`s and `leave`s
    merged, each user at most once. Add `joined`, remove `left`, and take `count` (the
    number online when it was sent) to keep a `presence` snapshot up to date."""

    type: Literal["presence_diff"] = "presence_diff"
    joined: list[User]
    left: list[User]
    count: int


class JoinEvent(_ChannelEvent):
    type: Literal["join"] = "join"
    user: User


class LeaveEvent(_ChannelEvent):
    type: Literal["leave"] = "leave"
    user: User


# --- bot streams (indexed) -------------------------------------------------------------------


class StreamStart(_ChannelEvent):
    type: Literal["stream_start"] = "stream_start"
    stream: str
    reply_to: int | None = None


class Delta(_ChannelEvent):
    """One piece of an answer in flight; the texts of indexes 0..n joined are the answer."""

    type: Literal["delta"] = "delta"
    stream: str
    index: int
    text: str


class StreamError(_Model):
    code: str
    message: str


class StreamEnd(_ChannelEvent):
    """`status`: complete, cancelled, failed (with `error`) or interrupted. `seq` names the
    durable message that holds the final answer, delivered as a `MessageEvent` too."""

    type: Literal["stream_end"] = "stream_end"
    stream: str
    status: str
    seq: int | None = None
    error: StreamError | None = None


# --- quizzes ---------------------------------------------------------------------------------


class QuizQuestion(_Model):
    id: int
    text: str
    options: list[str]


class QuestionEvent(_ChannelEvent):
    type: Literal["question"] = "question"
    index: int
    count: int
    deadline: datetime
    question: QuizQuestion


class RevealEvent(_ChannelEvent):
    type: Literal["reveal"] = "reveal"
    index: int
    question_id: int
    correct_index: int
    explanation: str | None = None


class EndedEvent(_ChannelEvent):
    type: Literal["ended"] = "ended"


# --- leaderboards (latest state) -------------------------------------------------------------


class BoardEntry(_Model):
    rank: int
    user: User
    score: int
    correct: int = 0
    wrong: int = 0


class BoardEvent(_ChannelEvent):
    """A complete leaderboard snapshot; `version` only grows."""

    type: Literal["board"] = "board"
    version: int
    total: int
    top: list[BoardEntry]


class RankEvent(_ChannelEvent):
    """The receiver's own place changed."""

    type: Literal["rank"] = "rank"
    version: int
    rank: int
    score: int


# --- client-made and generic -----------------------------------------------------------------


class Reset(_ChannelEvent):
    """The server could not replay from `since`; reload through REST. Live events after
    `head` follow this event."""

    type: Literal["reset"] = "reset"
    since: int
    head: int


class Event(_ChannelEvent):
    """Any event this client version has no model for; `data` is the whole frame."""

    type: str
    data: JsonObject


ParleyEvent = (
    MessageEvent
    | TypingEvent
    | PresenceEvent
    | PresenceDiffEvent
    | JoinEvent
    | LeaveEvent
    | StreamStart
    | Delta
    | StreamEnd
    | QuestionEvent
    | RevealEvent
    | EndedEvent
    | BoardEvent
    | RankEvent
    | Reset
    | Event
)

_MODELS: dict[str, type[_ChannelEvent]] = {
    "message": MessageEvent,
    "typing": TypingEvent,
    "presence": PresenceEvent,
    "presence_diff": PresenceDiffEvent,
    "join": JoinEvent,
    "leave": LeaveEvent,
    "stream_start": StreamStart,
    "delta": Delta,
    "stream_end": StreamEnd,
    "question": QuestionEvent,
    "reveal": RevealEvent,
    "ended": EndedEvent,
    "board": BoardEvent,
    "rank": RankEvent,
}


def parse_event(frame: JsonObject) -> ParleyEvent:
    """The typed event for a server frame that carries `channel`; never raises.

    A frame of a known type that fails validation is logged (type and channel only, never
    content) and returned as a generic `Event`.
    """
    kind = frame.get("type")
    channel = frame.get("channel")
    model = _MODELS.get(kind) if isinstance(kind, str) else None
    if model is not None:
        try:
            event: ParleyEvent = model.model_validate(frame)  # type: ignore[assignment]
            return event
        except ValidationError:
            log.warning(
                "event did not match its model; passed through as generic",
                extra={"event_type": kind, "channel": channel},
            )
    return Event(
        type=kind if isinstance(kind, str) else "",
        channel=channel if isinstance(channel, str) else "",
        data=frame,
    )
