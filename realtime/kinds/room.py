"""`room:{id}`: a chat room or a bot conversation.

Ordered (messages carry the room's seq and are replayed from Redis history, then
PostgreSQL), with presence; a too-slow subscriber is closed with 4008 and resumes with
`since`. Membership is checked on every subscribe.
"""

from __future__ import annotations

from domain import chat
from realtime.channels import ChannelKind, Delivery, Overflow, register

ROOM = register(
    ChannelKind(
        name="room",
        authorize=chat.authorize_read,
        delivery=Delivery.ordered,
        overflow=Overflow.close,
        presence=True,
        heads=chat.room_heads,
        load=chat.load_frames,
        description="chat rooms and bot conversations",
    )
)
