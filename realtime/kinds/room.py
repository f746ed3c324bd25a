"""`room:{id}`: a chat room or a bot conversation.

Ordered (messages carry the room's seq and are replayed from Redis history, then
PostgreSQL), with presence; a too-slow subscriber is closed with 4008 and resumes with
`since`. Membership is checked on every subscribe.

A bot conversation also carries an indexed stream, the answer in flight: a subscriber gets
its `stream_start` and deltas (after the position it gives) right after the replay, read
from the answer's Redis stream (domain/bot/live.py).
"""

from __future__ import annotations

from domain import chat
from domain.bot.live import in_flight_envelopes
from realtime.channels import (
    ChannelKind,
    Delivery,
    KindContext,
    Overflow,
    SubscribeRequest,
    register,
)


async def _answer_in_flight(ctx: KindContext, request: SubscribeRequest) -> list[bytes]:
    position = (request.stream.id, request.stream.index) if request.stream else None
    return await in_flight_envelopes(ctx.broker, request.key, position)


ROOM = register(
    ChannelKind(
        name="room",
        authorize=chat.authorize_read,
        delivery=Delivery.ordered,
        overflow=Overflow.close,
        presence=True,
        heads=chat.room_heads,
        load=chat.load_frames,
        on_subscribe=_answer_in_flight,
        description="chat rooms and bot conversations",
    )
)
