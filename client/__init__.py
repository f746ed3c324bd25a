"""Parley's Python client: one multiplexed WebSocket with reconnect, resume, in-band token
refresh and acked, idempotent sends, plus an SSE reader. See docs/client.md.

    async with ParleyClient("ws://127.0.0.1:8000/ws", tokens) as client:
        room = await client.subscribe("room:42")
        ack = await client.send("room:42", "hi")
        async for event in room:
            ...
"""

from client.backoff import Backoff
from client.connection import ParleyClient
from client.errors import (
    RETRYABLE,
    AuthenticationFailed,
    ClientClosed,
    ConnectionLost,
    ErrorCode,
    ParleyError,
    ProtocolError,
)
from client.events import (
    BoardEntry,
    BoardEvent,
    Delta,
    Doctor,
    EndedEvent,
    Event,
    JoinEvent,
    LeaveEvent,
    MessageEvent,
    ParleyEvent,
    PresenceDiffEvent,
    PresenceEvent,
    QuestionEvent,
    QuizQuestion,
    RankEvent,
    Reset,
    RevealEvent,
    StreamEnd,
    StreamStart,
    Triage,
    TypingEvent,
    User,
    parse_event,
)
from client.link import ClientStats, Hello
from client.sends import Ack
from client.service import LinkedUserTokens, ServiceApi, ServiceUser
from client.sse import SseStream
from client.subscriptions import Subscribed, Subscription
from client.tokens import RestTokens, StaticToken, TokenSource

__all__ = [
    "RETRYABLE",
    "Ack",
    "AuthenticationFailed",
    "Backoff",
    "BoardEntry",
    "BoardEvent",
    "ClientClosed",
    "ClientStats",
    "ConnectionLost",
    "Delta",
    "Doctor",
    "EndedEvent",
    "ErrorCode",
    "Event",
    "Hello",
    "JoinEvent",
    "LeaveEvent",
    "LinkedUserTokens",
    "MessageEvent",
    "ParleyClient",
    "ParleyError",
    "ParleyEvent",
    "PresenceDiffEvent",
    "PresenceEvent",
    "ProtocolError",
    "QuestionEvent",
    "QuizQuestion",
    "RankEvent",
    "Reset",
    "RestTokens",
    "RevealEvent",
    "ServiceApi",
    "ServiceUser",
    "SseStream",
    "StaticToken",
    "StreamEnd",
    "StreamStart",
    "Subscribed",
    "Subscription",
    "TokenSource",
    "Triage",
    "TypingEvent",
    "User",
    "parse_event",
]
