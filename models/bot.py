"""Bot answers in flight: one row per answer the symptom bot generates (domain/bot).

A row is inserted when generation is granted (before the user's message is stored) and
finished exactly once, by the statement that stores the bot's durable answer
(domain/bot/store.py). The partial unique index makes "one answer in flight per
conversation" a database guarantee across workers; the partial index on `started_at` is
what every worker's sweeper scans for answers whose generating worker died.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class BotStream(Base):
    __tablename__ = "bot_streams"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # "s-<hex>", on the wire
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The seq of the user message answered; NULL only between the grant and the store.
    reply_to: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    node: Mapped[str] = mapped_column(String(128), nullable=False)  # the generating worker
    provider: Mapped[str] = mapped_column(String(128), nullable=False)
    started_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[str | None] = mapped_column(String(16), nullable=True)

    __table_args__ = (
        Index(
            "uq_bot_streams_room_in_flight",
            "room_id",
            unique=True,
            postgresql_where=text("finished_at IS NULL"),
        ),
        Index(
            "ix_bot_streams_in_flight",
            "started_at",
            postgresql_where=text("finished_at IS NULL"),
        ),
        Index("ix_bot_streams_owner_id", "owner_id"),
    )
