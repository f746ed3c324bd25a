"""The wire protocol's frames (PROTOCOL.md): the single source of truth for their shape.

Client frames are parsed in two steps so every failure has its documented code: not JSON
or not an object -> `bad_frame`; no or unknown `type` -> `unknown_type`; bad fields ->
`invalid` (with Pydantic's per-field details).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from domain.errors import DomainError, ErrorCode
from domain.events import UserRef
from domain.limits import MAX_TOKEN_CHARS

Ref = Annotated[str | None, Field(default=None, max_length=64)]
ChannelName = Annotated[str, Field(min_length=3, max_length=64)]


class _ClientFrame(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    ref: Ref = None


class AuthFrame(_ClientFrame):
    type: Literal["auth"]
    token: Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_CHARS)]


class RefreshFrame(_ClientFrame):
    type: Literal["refresh"]
    token: Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_CHARS)]


class PingFrame(_ClientFrame):
    type: Literal["ping"]


class PongFrame(_ClientFrame):
    """A client's answer to the server's keep-alive `ping` (any frame also counts)."""

    type: Literal["pong"]


class SubscribeFrame(_ClientFrame):
    type: Literal["subscribe"]
    channel: ChannelName
    since: Annotated[int | None, Field(default=None, ge=0)] = None


class UnsubscribeFrame(_ClientFrame):
    type: Literal["unsubscribe"]
    channel: ChannelName


class SendFrame(_ClientFrame):
    type: Literal["send"]
    channel: ChannelName
    client_id: Annotated[str | None, Field(default=None, min_length=1, max_length=64)] = None
    body: Annotated[str, Field(min_length=1)]


class TypingFrame(_ClientFrame):
    type: Literal["typing"]
    channel: ChannelName


class ReadFrame(_ClientFrame):
    """Extension: store the member's read position (last seen seq) in a room."""

    type: Literal["read"]
    channel: ChannelName
    seq: Annotated[int, Field(ge=0)]


ClientFrame = Annotated[
    AuthFrame
    | RefreshFrame
    | PingFrame
    | PongFrame
    | SubscribeFrame
    | UnsubscribeFrame
    | SendFrame
    | TypingFrame
    | ReadFrame,
    Field(discriminator="type"),
]
CLIENT_TYPES = frozenset(
    {"auth", "refresh", "ping", "pong", "subscribe", "unsubscribe", "send", "typing", "read"}
)
_client_adapter: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)


class FrameError(DomainError):
    """A frame the server cannot act on; carries its protocol code."""

    def __init__(self, code: ErrorCode, message: str, *, ref: str | None, details: Any = None):
        super().__init__(message, details=details)
        self.code = code
        self.ref = ref


def parse_client_frame(text: str) -> ClientFrame:
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise FrameError(ErrorCode.bad_frame, "The frame is not valid JSON.", ref=None) from exc
    if not isinstance(raw, dict):
        raise FrameError(ErrorCode.bad_frame, "A frame must be a JSON object.", ref=None)
    ref = raw.get("ref") if isinstance(raw.get("ref"), str) else None
    if raw.get("type") not in CLIENT_TYPES:
        raise FrameError(
            ErrorCode.unknown_type,
            f"Unknown frame type {raw.get('type')!r}.",
            ref=ref,
            details={"known": sorted(CLIENT_TYPES)},
        )
    try:
        return _client_adapter.validate_python(raw)
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in e["loc"][1:]), "problem": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise FrameError(
            ErrorCode.invalid, "The frame has invalid fields.", ref=ref, details=details
        ) from exc


# --- server frames -------------------------------------------------------------------------


class _ServerFrame(BaseModel):
    model_config = ConfigDict(frozen=True)


class HelloFrame(_ServerFrame):
    type: Literal["hello"] = "hello"
    node: str
    user: UserRef
    heartbeat: int


class RefreshedFrame(_ServerFrame):
    type: Literal["refreshed"] = "refreshed"
    ref: str | None = None


class ServerPongFrame(_ServerFrame):
    type: Literal["pong"] = "pong"
    ref: str | None = None


class ServerPingFrame(_ServerFrame):
    """Sent after `heartbeat` seconds of client silence; any client frame answers it."""

    type: Literal["ping"] = "ping"


class SubscribedFrame(_ServerFrame):
    type: Literal["subscribed"] = "subscribed"
    ref: str | None = None
    channel: str
    head: int
    recovered: bool


class UnsubscribedFrame(_ServerFrame):
    type: Literal["unsubscribed"] = "unsubscribed"
    ref: str | None = None
    channel: str


class AckFrame(_ServerFrame):
    type: Literal["ack"] = "ack"
    ref: str | None = None
    channel: str
    seq: int
    client_id: str | None = None


class MarkedFrame(_ServerFrame):
    """Answer to `read`: the stored read position."""

    type: Literal["marked"] = "marked"
    ref: str | None = None
    channel: str
    seq: int


class ErrorFrame(_ServerFrame):
    type: Literal["error"] = "error"
    ref: str | None = None
    code: ErrorCode
    message: str
    details: Any = None


ServerFrame = (
    HelloFrame
    | RefreshedFrame
    | ServerPongFrame
    | ServerPingFrame
    | SubscribedFrame
    | UnsubscribedFrame
    | AckFrame
    | MarkedFrame
    | ErrorFrame
)


def dump(frame: ServerFrame) -> str:
    """Serialize a reply frame; `ref` and `details` are left out when absent."""
    return frame.model_dump_json(exclude_none=True)
