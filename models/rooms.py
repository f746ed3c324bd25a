"""Rooms (study-group chats and private bot conversations) and their memberships.

`Room.last_seq` is the channel's head: the `seq` of its latest durable event. It is bumped
by the same statement that inserts the event (domain/chat.py), so the row lock serializes
writers of one room and seq order equals commit order (docs/decisions/0001).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    String,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAt


class RoomKind(StrEnum):
    study_group = "study_group"
    bot_conversation = "bot_conversation"


class MemberRole(StrEnum):
    owner = "owner"
    admin = "admin"
    member = "member"
    doctor = "doctor"  # a doctor the owner shared a bot conversation with (models/care.py)


class Room(CreatedAt, Base):
    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RoomKind] = mapped_column(
        Enum(RoomKind, name="room_kind", values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    )
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    invite_code: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")

    __table_args__ = (Index("ix_rooms_owner_id", "owner_id"),)


class Membership(Base):
    __tablename__ = "memberships"

    room_id: Mapped[int] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[MemberRole] = mapped_column(
        Enum(MemberRole, name="member_role", values_callable=lambda e: [m.value for m in e]),
        nullable=False,
        default=MemberRole.member,
    )
    # Read position: the last seq this member has seen in the room.
    last_read_seq: Mapped[int] = mapped_column(
        BigInteger, nullable=False, default=0, server_default="0"
    )
    joined_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    # "rooms of user X" is the hot lookup; the PK already covers "members of room Y".
    __table_args__ = (Index("ix_memberships_user_id", "user_id"),)


async def room_heads(session: AsyncSession, room_ids: list[int]) -> dict[int, int]:
    """The current head seq of several rooms in one query."""
    if not room_ids:
        return {}
    rows = await session.execute(select(Room.id, Room.last_seq).where(Room.id.in_(room_ids)))
    return {rid: seq for rid, seq in rows.all()}
