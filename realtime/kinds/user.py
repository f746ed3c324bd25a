"""`user:{id}`: a user's notifications (domain/notifications.py).

Ordered (each notification carries the user's own seq; replayed from Redis history, then
PostgreSQL), no presence; only the user themself may subscribe. It also carries the
ephemeral `unread` counts. A too-slow subscriber is closed with 4008 and resumes with
`since`.
"""

from __future__ import annotations

from domain import notifications
from realtime.channels import ChannelKind, Delivery, Overflow, register

USER = register(
    ChannelKind(
        name="user",
        authorize=notifications.authorize,
        delivery=Delivery.ordered,
        overflow=Overflow.close,
        presence=False,
        heads=notifications.heads,
        load=notifications.load_frames,
        description="a user's notifications",
    )
)
