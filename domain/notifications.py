"""Notifications: a personal, durable channel per user, `user:{id}` (only that user may
subscribe), on WebSocket and SSE, resumable with `since` like a room.

Kinds (docs/protocol.md §17): `quiz_posted`, `quiz_starting` (your study group),
`answer_finished` (the bot finished an answer in your conversation while you were not
watching it), `doctor_joined`, `doctor_replied` (your consultation), `conversation_shared`,
`share_revoked` (a doctor's shares).

Guarantees:
- One statement bumps each recipient's `users.notify_seq` and inserts their notification
  (autocommit): seq is gap-free per user and seq order is commit order, as for messages.
- Published after the commit; a lost publish is recovered by the hub's gap-fill from
  PostgreSQL, as for messages. Notifying never raises: the change that caused it stands.
- After each notification and each mark-as-read, the user's channel gets an ephemeral
  `unread` event: unread notification counts per room.
- `data` names people and rooms, never health data (no message text, no symptoms).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, field_serializer
from sqlalchemy import Integer, String, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker import Broker
from domain.errors import Forbidden, Invalid
from domain.events import Position, _Event, encode
from models import Membership, Notification, User

log = logging.getLogger("parley.notifications")


class Kind(StrEnum):
    quiz_posted = "quiz_posted"
    quiz_starting = "quiz_starting"
    answer_finished = "answer_finished"
    doctor_joined = "doctor_joined"
    doctor_replied = "doctor_replied"
    conversation_shared = "conversation_shared"
    share_revoked = "share_revoked"


def user_channel(user_id: int) -> str:
    return f"user:{user_id}"


class NotificationEvent(_Event):
    """A durable notification on `user:{id}` (carries that channel's seq)."""

    position: ClassVar[Position | None] = "seq"
    type: Literal["notification"] = "notification"
    seq: int
    id: int
    kind: Kind
    room_id: int | None
    data: dict[str, Any]
    created_at: datetime
    read: bool = False

    @field_serializer("created_at")
    def _iso_utc(self, value: datetime) -> str:
        return value.isoformat().replace("+00:00", "Z")


class RoomUnread(BaseModel):
    model_config = ConfigDict(frozen=True)

    room_id: int | None
    count: int


class UnreadEvent(_Event):
    """Ephemeral: the user's unread notifications now, per room (`room_id` null: none)."""

    type: Literal["unread"] = "unread"
    total: int
    rooms: list[RoomUnread]


def event_of(n: Notification) -> NotificationEvent:
    return NotificationEvent(
        channel=user_channel(n.user_id),
        seq=n.seq,
        id=n.id,
        kind=Kind(n.kind),
        room_id=n.room_id,
        data=n.data,
        created_at=n.created_at,
        read=n.read_at is not None,
    )


_INSERT = text(
    """
    WITH bump AS (
        UPDATE users SET notify_seq = notify_seq + 1
        WHERE id = ANY(:users) RETURNING id, notify_seq)
    INSERT INTO notifications (user_id, seq, kind, room_id, data)
    SELECT bump.id, bump.notify_seq, :kind, :room_id, :data FROM bump
    RETURNING id, user_id, seq, created_at
    """
).bindparams(
    bindparam("users", type_=ARRAY(Integer)),
    bindparam("kind", type_=String),
    bindparam("room_id", type_=Integer),
    bindparam("data", type_=JSONB),
)


@dataclass(frozen=True, slots=True)
class Notifier:
    """What use cases call to notify people (storage, then the live channel)."""

    sessions: async_sessionmaker[AsyncSession]
    broker: Broker

    async def notify(
        self, users: Sequence[int], kind: Kind, room_id: int | None, data: dict[str, Any]
    ) -> None:
        """Store one notification per user, then publish each and the new unread counts.
        Never raises (see the module docstring)."""
        if not users:
            return
        try:
            async with self.sessions() as session:
                conn = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                params = {"users": list(users), "kind": kind.value, "room_id": room_id,
                          "data": data}  # fmt: skip
                rows = (await conn.execute(_INSERT, params)).all()
                for row in rows:
                    event = NotificationEvent(
                        channel=user_channel(row.user_id), seq=row.seq, id=row.id, kind=kind,
                        room_id=room_id, data=data, created_at=row.created_at,
                    )  # fmt: skip
                    await self._publish(event, row.seq)
                await self.publish_unread(session, [row.user_id for row in rows])
        except Exception as exc:  # noqa: BLE001 - the cause stands; see the docstring
            log.warning(
                "notification not delivered",
                extra={"kind": kind.value, "error": type(exc).__name__},
            )

    async def members_but(
        self, room_id: int, actor_id: int, kind: Kind, data: dict[str, Any]
    ) -> None:
        """Notify every member of a room except the one who caused it."""
        try:
            async with self.sessions() as session:
                users = list(
                    (
                        await session.execute(
                            select(Membership.user_id).where(
                                Membership.room_id == room_id, Membership.user_id != actor_id
                            )
                        )
                    ).scalars()
                )
        except Exception as exc:  # noqa: BLE001 - as notify
            log.warning("notification not delivered", extra={"error": type(exc).__name__})
            return
        await self.notify(users, kind, room_id, data)

    async def watching(self, user_id: int, channel: str) -> bool:
        """Whether the user has a live subscription to the channel now (presence)."""
        try:
            return await self.broker.presence_online(channel, user_id)
        except Exception:  # noqa: BLE001 - unknown: notify rather than miss it
            return False

    async def publish_unread(self, session: AsyncSession, users: Sequence[int]) -> None:
        for user_id, event in (await unread(session, users)).items():
            try:
                await self.broker.publish(user_channel(user_id), encode(event, self.broker.node))
            except Exception as exc:  # noqa: BLE001 - ephemeral; the next one corrects it
                log.warning("unread counts not published", extra={"error": type(exc).__name__})

    async def _publish(self, event: NotificationEvent, seq: int) -> None:
        try:
            await self.broker.publish(event.channel, encode(event, self.broker.node), seq=seq)
        except Exception as exc:  # noqa: BLE001 - recovered by gap-fill from storage
            log.warning("notification publish failed", extra={"error": type(exc).__name__})


async def unread(session: AsyncSession, users: Sequence[int]) -> dict[int, UnreadEvent]:
    """Unread counts per room of several users, one query."""
    rows = (
        await session.execute(
            select(Notification.user_id, Notification.room_id, func.count())
            .where(Notification.user_id.in_(list(users)), Notification.read_at.is_(None))
            .group_by(Notification.user_id, Notification.room_id)
        )
    ).all()
    by_user: dict[int, list[RoomUnread]] = {u: [] for u in users}
    for user_id, room_id, count in rows:
        by_user[user_id].append(RoomUnread(room_id=room_id, count=count))
    return {
        u: UnreadEvent(
            channel=user_channel(u),
            total=sum(r.count for r in rooms),
            rooms=sorted(rooms, key=lambda r: (r.room_id is None, r.room_id or 0)),
        )
        for u, rooms in by_user.items()
    }


# --- the channel kind's hooks (realtime/kinds/user.py) ---------------------------------------


async def authorize(session: AsyncSession, user_id: int, key: int) -> None:
    """Only the user themself; anyone else's `user:` channel is forbidden (whether or not
    that user exists: nothing is told about other users)."""
    if key != user_id:
        raise Forbidden("You can only subscribe to your own notifications.")


async def heads(session: AsyncSession, user_ids: list[int]) -> dict[int, int]:
    rows = await session.execute(select(User.id, User.notify_seq).where(User.id.in_(user_ids)))
    return {uid: seq for uid, seq in rows.all()}


async def load_frames(
    session: AsyncSession, user_id: int, after: int, upto: int
) -> list[tuple[int, str]]:
    rows = await session.execute(
        select(Notification)
        .where(Notification.user_id == user_id, Notification.seq > after, Notification.seq <= upto)
        .order_by(Notification.seq)
    )
    return [(n.seq, event_of(n).model_dump_json()) for n in rows.scalars()]


# --- REST --------------------------------------------------------------------------------------


async def listing(
    session: AsyncSession, user_id: int, *, unread_only: bool, before: int | None, limit: int
) -> list[NotificationEvent]:
    """Newest first; `before` pages back by seq."""
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    if before is not None:
        stmt = stmt.where(Notification.seq < before)
    stmt = stmt.order_by(Notification.seq.desc()).limit(limit)
    return [event_of(n) for n in (await session.execute(stmt)).scalars()]


async def mark_read(session: AsyncSession, user_id: int, upto: int) -> int:
    """Mark every notification with seq <= upto read; how many changed. Raises Invalid
    beyond the user's head."""
    head = (await session.execute(select(User.notify_seq).where(User.id == user_id))).scalar_one()
    if upto > head:
        raise Invalid(f"seq must be at most your latest notification ({head}).")
    result = await session.execute(
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.seq <= upto,
            Notification.read_at.is_(None),
        )
        .values(read_at=func.now())
        .returning(Notification.id)
    )
    changed = len(result.all())
    await session.commit()
    return changed
