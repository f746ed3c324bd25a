"""Chat messages: the durable events of a room, numbered by a per-room `seq`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, CreatedAt
from models.users import User


class Message(CreatedAt, Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # NULL for the bot's answers in a bot conversation (models/bot.py): the bot is no user.
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    body: Mapped[str] = mapped_column(Text, nullable=False)
    # The sender's idempotency key: a retried send with the same key is stored once.
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Bot answers only (all NULL otherwise): the seq of the user message answered, the
    # protocol's `triage` object, the provider's token usage and, for a failed answer,
    # the error object. See docs/protocol.md "Bot conversations".
    reply_to: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    triage: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    # Bot answers: up to three available doctors of the recommended specialty (or NULL).
    doctors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB, nullable=True)

    author: Mapped[User | None] = relationship(lazy="joined", innerjoin=False)

    __table_args__ = (
        # Serves history pagination (room_id, seq range) and guarantees one row per seq.
        UniqueConstraint("room_id", "seq"),
        # Also serves lookups by author (the users foreign key's cascade): it leads with
        # author_id, so no index of its own (migration 0008).
        UniqueConstraint("author_id", "client_id"),
    )


async def find_by_client_id(
    session: AsyncSession, author_id: int, client_id: str
) -> Message | None:
    stmt = select(Message).where(Message.author_id == author_id, Message.client_id == client_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def messages_in_range(
    session: AsyncSession, room_id: int, after: int, upto: int
) -> list[Message]:
    """Messages with after < seq <= upto, ascending (the replay and gap-fill query)."""
    stmt = (
        select(Message)
        .where(Message.room_id == room_id, Message.seq > after, Message.seq <= upto)
        .order_by(Message.seq)
    )
    return list((await session.execute(stmt)).scalars())


async def history_page(
    session: AsyncSession, room_id: int, *, before: int | None, after: int | None, limit: int
) -> list[Message]:
    """A page of history in ascending seq (PROTOCOL.md: after / before / latest)."""
    stmt = select(Message).where(Message.room_id == room_id)
    if after is not None:
        stmt = stmt.where(Message.seq > after)
        if before is not None:
            stmt = stmt.where(Message.seq < before)
        return list((await session.execute(stmt.order_by(Message.seq).limit(limit))).scalars())
    if before is not None:
        stmt = stmt.where(Message.seq < before)
    rows = list((await session.execute(stmt.order_by(Message.seq.desc()).limit(limit))).scalars())
    rows.reverse()
    return rows
