"""Users: people (students, patients, doctors, admins) and service accounts (bridges)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, Enum, Index, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAt


class Role(StrEnum):
    student = "student"
    patient = "patient"
    doctor = "doctor"
    admin = "admin"
    service = "service"


class User(CreatedAt, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    display_name: Mapped[str] = mapped_column(String(80), nullable=False)
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="user_role", values_callable=lambda e: [m.value for m in e]),
        nullable=False,
        default=Role.student,
    )
    # Service accounts have no password: they only ever hold a service token.
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # The head of the user's `user:{id}` channel: the seq of their latest notification,
    # bumped by the statement that inserts it (domain/notifications.py), like Room.last_seq.
    notify_seq: Mapped[int] = mapped_column(
        BigInteger, nullable=False, default=0, server_default="0"
    )

    __table_args__ = (
        # Emails are compared case-insensitively; the unique index enforces it.
        Index("uq_users_email_lower", func.lower(email), unique=True),
    )


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    stmt = select(User).where(func.lower(User.email) == email.strip().lower())
    return (await session.execute(stmt)).scalar_one_or_none()
