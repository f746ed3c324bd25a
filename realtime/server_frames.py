"""The server frames (PROTOCOL.md): the replies and notices `/ws` sends, and `dump`, which
serializes them (and any feature's own frame model) for the wire."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from domain.errors import ErrorCode
from domain.events import UserRef
from domain.revocations import RevokeReason


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
    """The connection is no longer subscribed to `channel`: the answer to `unsubscribe`
    (with its `ref`), or, with `reason` and no `ref`, the server ended the subscription
    because the user lost access (left, removed, room deleted)."""

    type: Literal["unsubscribed"] = "unsubscribed"
    ref: str | None = None
    channel: str
    reason: RevokeReason | None = None


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


class CancelledFrame(_ServerFrame):
    """Answer to `cancel`: the answer will end with `stream_end` status `cancelled`."""

    type: Literal["cancelled"] = "cancelled"
    ref: str | None = None
    channel: str
    stream: str


class AnsweredFrame(_ServerFrame):
    """Answer to `answer`: the answer is stored (scored at the reveal)."""

    type: Literal["answered"] = "answered"
    ref: str | None = None
    session: int
    question_id: int


class ErrorFrame(_ServerFrame):
    type: Literal["error"] = "error"
    ref: str | None = None
    code: ErrorCode
    message: str
    details: Any = None
    # v1.2: seconds to wait before retrying (admission control's `unavailable`); absent
    # otherwise, so clients that do not know it see the same frame as before.
    retry_after: int | None = None


ServerFrame = (
    HelloFrame
    | RefreshedFrame
    | ServerPongFrame
    | ServerPingFrame
    | SubscribedFrame
    | UnsubscribedFrame
    | AckFrame
    | MarkedFrame
    | CancelledFrame
    | AnsweredFrame
    | ErrorFrame
)


def dump(frame: BaseModel) -> str:
    """Serialize a server frame (those above, or a feature's own); `ref` and `details` are
    left out when absent."""
    return frame.model_dump_json(exclude_none=True)
