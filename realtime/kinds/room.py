"""`room:{id}`: a chat room or a bot conversation.

Ordered (messages carry the room's seq and are replayed from Redis history, then
PostgreSQL), with presence; a too-slow subscriber is closed with 4008 and resumes with
`since`. Membership is checked on every subscribe.

A bot conversation also carries an indexed stream, the answer in flight: a subscriber gets
its `stream_start` and deltas (after the position it gives) right after the replay, read
from the answer's Redis stream (domain/bot/live.py).
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from domain import chat
from domain.bot.live import in_flight_envelopes
from domain.care import shares
from domain.notifications import Kind, Notifier
from models import MemberRole, User
from realtime.channels import (
    ChannelKind,
    Delivery,
    KindContext,
    Overflow,
    SubscribeRequest,
    register,
)

log = logging.getLogger("parley.realtime")


async def _on_subscribe(ctx: KindContext, request: SubscribeRequest) -> list[bytes]:
    position = (request.stream.id, request.stream.index) if request.stream else None
    envelopes = await in_flight_envelopes(ctx.broker, request.key, position)
    if request.role != MemberRole.doctor:
        # Only a shared conversation's doctor can be "joining first": everyone else's
        # subscribe skips that UPDATE and its transaction (0027).
        return envelopes
    # The subscription is already answered `subscribed`: a notification that cannot be
    # stored now must not undo it (notifications never fail the action behind them).
    try:
        await _doctor_joined(ctx, request)
    except Exception as exc:  # noqa: BLE001 - logged by type only: no health data
        log.warning("doctor_joined not notified", extra={"error": type(exc).__name__})
    return envelopes


async def _doctor_joined(ctx: KindContext, request: SubscribeRequest) -> None:
    """A participating doctor's first live subscription notifies the patient (one indexed
    UPDATE, which matches nothing after the first)."""
    async with ctx.sessions() as session:
        patient = await shares.first_join(session, request.key, request.user_id)
        if patient is None:
            return
        name = await session.scalar(select(User.display_name).where(User.id == request.user_id))
    data = {"doctor": {"id": request.user_id, "name": name}}
    await Notifier(ctx.sessions, ctx.broker).notify(
        [patient], Kind.doctor_joined, request.key, data
    )


ROOM = register(
    ChannelKind(
        name="room",
        authorize=chat.authorize_read,
        authorize_many=chat.authorize_read_many,
        delivery=Delivery.ordered,
        overflow=Overflow.close,
        presence=True,
        heads=chat.room_heads,
        load=chat.load_frames,
        on_subscribe=_on_subscribe,
        description="chat rooms and bot conversations",
    )
)
