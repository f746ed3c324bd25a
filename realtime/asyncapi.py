"""The AsyncAPI 3.0 description of `/ws`, generated from the frame and event models.

Generated, never hand-edited, so it cannot drift from the code: `make asyncapi` rewrites
docs/asyncapi.json and a test fails when the committed file differs from `build()`.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Literal, get_args

from pydantic import BaseModel, TypeAdapter

from domain.bot.events import BotMessageEvent, DeltaEvent, StreamEndEvent, StreamStartEvent
from domain.events import (
    JoinEvent,
    LeaveEvent,
    MessageEvent,
    PresenceDiffEvent,
    PresenceEvent,
    TypingEvent,
)
from domain.notifications import NotificationEvent, UnreadEvent
from domain.study.events import BoardEvent, EndedEvent, QuestionEvent, RankEvent, RevealEvent
from realtime import client_frames, server_frames

CLIENT: list[type[BaseModel]] = [
    client_frames.AuthFrame,
    client_frames.RefreshFrame,
    client_frames.PingFrame,
    client_frames.PongFrame,
    client_frames.SubscribeFrame,
    client_frames.UnsubscribeFrame,
    client_frames.SendFrame,
    client_frames.TypingFrame,
    client_frames.ReadFrame,
    client_frames.CancelFrame,
    client_frames.AnswerFrame,
]
SERVER: list[type[BaseModel]] = [
    server_frames.HelloFrame,
    server_frames.RefreshedFrame,
    server_frames.ServerPongFrame,
    server_frames.ServerPingFrame,
    server_frames.SubscribedFrame,
    server_frames.UnsubscribedFrame,
    server_frames.AckFrame,
    server_frames.MarkedFrame,
    server_frames.CancelledFrame,
    server_frames.AnsweredFrame,
    server_frames.ErrorFrame,
    MessageEvent,
    TypingEvent,
    PresenceEvent,
    PresenceDiffEvent,
    JoinEvent,
    LeaveEvent,
    StreamStartEvent,
    DeltaEvent,
    StreamEndEvent,
    BotMessageEvent,
    QuestionEvent,
    RevealEvent,
    EndedEvent,
    BoardEvent,
    RankEvent,
    NotificationEvent,
    UnreadEvent,
]


def _name(model: type[BaseModel]) -> str:
    return model.__name__


def frame_type(model: type[BaseModel]) -> str:
    """The literal `type` a frame carries on the wire."""
    (value,) = get_args(model.model_fields["type"].annotation)
    return str(value)


def build() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in CLIENT + SERVER:
        mode: Literal["validation", "serialization"] = (
            "validation" if model in CLIENT else "serialization"
        )
        schema = TypeAdapter(model).json_schema(
            mode=mode, ref_template="#/components/schemas/{model}"
        )
        schemas.update(schema.pop("$defs", {}))
        schemas[_name(model)] = schema
    messages = {
        _name(m): {
            "name": _name(m),
            "title": frame_type(m),
            "summary": (m.__doc__ or "").strip().split("\n")[0],
            "payload": {"$ref": f"#/components/schemas/{_name(m)}"},
        }
        for m in CLIENT + SERVER
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Parley WebSocket protocol",
            "version": "1",
            "description": "See docs/protocol.md for semantics, errors and close codes.",
        },
        "channels": {
            "ws": {
                "address": "/ws",
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
            }
        },
        "operations": {
            "clientSends": {
                "action": "receive",
                "channel": {"$ref": "#/channels/ws"},
                "messages": [{"$ref": f"#/channels/ws/messages/{_name(m)}"} for m in CLIENT],
            },
            "serverSends": {
                "action": "send",
                "channel": {"$ref": "#/channels/ws"},
                "messages": [{"$ref": f"#/channels/ws/messages/{_name(m)}"} for m in SERVER],
            },
        },
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
