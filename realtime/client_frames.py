"""The client frames' models (PROTOCOL.md): the single source of truth for their shape.

Each frame type is a `ClientFrame` subclass with a `type: Literal[...]`; the field types below
bound every value at parse time. Which types the server accepts, and how a text frame becomes
one of these models, is realtime/frame_parser.py's job.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from domain.errors import Invalid
from domain.limits import MAX_TOKEN_CHARS
from realtime.channels import parse_channel

# seq columns are BIGINT: a larger `since` or `seq` could never match and must not reach SQL.
SEQ_MAX = 2**63 - 1
REF_MAX_CHARS = 64


def _channel_name(value: str) -> str:
    try:
        parse_channel(value)
    except Invalid as exc:
        raise ValueError(exc.message) from None
    return value


Ref = Annotated[str | None, Field(default=None, max_length=REF_MAX_CHARS)]
# Syntax and id range are checked at parse time (realtime/channels.py), never by SQL.
ChannelName = Annotated[str, Field(min_length=3, max_length=64), AfterValidator(_channel_name)]
Seq = Annotated[int, Field(ge=0, le=SEQ_MAX)]


class ClientFrame(BaseModel):
    """What every client frame has; each type is a subclass with a `type: Literal[...]`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    ref: Ref = None


class AuthFrame(ClientFrame):
    type: Literal["auth"]
    token: Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_CHARS)]


class RefreshFrame(ClientFrame):
    type: Literal["refresh"]
    token: Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_CHARS)]


class PingFrame(ClientFrame):
    type: Literal["ping"]


class PongFrame(ClientFrame):
    """A client's answer to the server's keep-alive `ping` (any frame also counts)."""

    type: Literal["pong"]


StreamId = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]


class StreamRef(BaseModel):
    """How far the client got in an indexed stream (a bot answer in flight)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: StreamId
    index: Annotated[int, Field(ge=-1, le=SEQ_MAX)]


class SubscribeFrame(ClientFrame):
    type: Literal["subscribe"]
    channel: ChannelName
    since: Annotated[int | None, Field(default=None, ge=0, le=SEQ_MAX)] = None
    stream: StreamRef | None = None  # v1.1: resume an in-flight answer after this index


class UnsubscribeFrame(ClientFrame):
    type: Literal["unsubscribe"]
    channel: ChannelName


class SendFrame(ClientFrame):
    type: Literal["send"]
    channel: ChannelName
    client_id: Annotated[str | None, Field(default=None, min_length=1, max_length=64)] = None
    body: Annotated[str, Field(min_length=1)]


class TypingFrame(ClientFrame):
    type: Literal["typing"]
    channel: ChannelName


class ReadFrame(ClientFrame):
    """Extension: store the member's read position (last seen seq) in a room."""

    type: Literal["read"]
    channel: ChannelName
    seq: Seq


# --- study groups live (quiz sessions) -------------------------------------------------------
Id32 = Annotated[int, Field(ge=1, le=2**31 - 1)]


class AnswerFrame(ClientFrame):
    """Answer the open question of a quiz session (v1.1). Answered by `answered`. Registered
    with its handler in realtime/study_frames.py."""

    type: Literal["answer"]
    session: Id32
    question_id: Id32
    option: Annotated[int, Field(ge=0, le=3)]


class CancelFrame(ClientFrame):
    """v1.1: stop a bot answer in flight (the owner, from any connection). Registered with
    its handler in realtime/bot_frames.py."""

    type: Literal["cancel"]
    channel: ChannelName
    stream: StreamId
