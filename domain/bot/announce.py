"""Announcing a bot answer on its room: each stream event appended to the answer's stream
and then published (`emit`), and the end (`publish_end`: `stream_end`, then the durable
message). Used by the generation and by the service (emergencies, the sweeper)."""

from __future__ import annotations

import logging

from domain import metrics
from domain.bot import live, store
from domain.bot.events import (
    BOT,
    BotMessageEvent,
    Status,
    StreamEndEvent,
    StreamError,
    TriageInfo,
    UsageInfo,
)
from domain.bot.runtime import Runtime
from domain.care.doctors import DoctorCard
from domain.chat import publish_event
from domain.events import encode

log = logging.getLogger("parley.bot")


async def emit(rt: Runtime, room_id: int, event: object, *, ttl: float) -> None:
    """Append to the answer's stream, THEN publish (the order resume relies on, live.py).
    A Redis failure is logged and the answer goes on: its durable message is what counts."""
    envelope = encode(event, rt.broker.node)  # type: ignore[arg-type]
    try:
        await rt.broker.stream_append(
            live.answer_key(room_id), envelope, maxlen=rt.config.stream_maxlen, ttl=ttl
        )
        await rt.broker.publish(f"room:{room_id}", envelope)
        metrics.published("room")
    except Exception as exc:  # noqa: BLE001 - subscribers get the durable message anyway
        log.warning("bot stream event not delivered", extra={"error": type(exc).__name__})


async def publish_end(
    rt: Runtime,
    room_id: int,
    stream_id: str,
    status: Status,
    stored: store.Stored,
    reply_to: int,
    body: str,
    triage: TriageInfo,
    usage: UsageInfo | None,
    error: StreamError | None,
    doctors: list[DoctorCard] | None = None,
) -> None:
    """`stream_end` (with the durable seq), then the durable `message` itself."""
    channel = f"room:{room_id}"
    end = StreamEndEvent(
        channel=channel, stream=stream_id, status=status, seq=stored.seq, error=error
    )
    await emit(rt, room_id, end, ttl=rt.config.ended_ttl)
    message = BotMessageEvent(
        channel=channel,
        seq=stored.seq,
        id=stored.id,
        author=BOT,
        body=body,
        client_id=None,
        created_at=stored.created_at,
        reply_to=reply_to,
        triage=triage,
        usage=usage,
        doctors=doctors,
    )
    await publish_event(rt.broker, message)
