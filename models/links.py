"""Service links: which Parley user a bridge (a service account) may act for, and the
short-lived user tokens it was issued for them (so unlinking can revoke them at once).

A link binds one external identity of one service (a Telegram user id for the `telegram`
service) to one Parley user: unique per (service, external id) and per (service, user).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, UniqueConstraint, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAt

# The longest external id a service may use (Telegram user ids are at most 52 bits).
MAX_EXTERNAL_ID = 64


class ServiceLink(CreatedAt, Base):
    __tablename__ = "service_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    external_id: Mapped[str] = mapped_column(String(MAX_EXTERNAL_ID), nullable=False)

    __table_args__ = (
        UniqueConstraint("service_id", "external_id"),
        UniqueConstraint("service_id", "user_id"),
    )


class LinkToken(Base):
    """A user token issued to a service through a link; kept until it would expire."""

    __tablename__ = "link_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    link_id: Mapped[int] = mapped_column(
        ForeignKey("service_links.id", ondelete="CASCADE"), nullable=False
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_link_tokens_link_id", "link_id"),)


async def link_of(session: AsyncSession, service_id: int, external_id: str) -> ServiceLink | None:
    stmt = select(ServiceLink).where(
        ServiceLink.service_id == service_id, ServiceLink.external_id == external_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def links_of_user(session: AsyncSession, user_id: int) -> list[ServiceLink]:
    stmt = select(ServiceLink).where(ServiceLink.user_id == user_id).order_by(ServiceLink.id)
    return list((await session.execute(stmt)).scalars())


async def live_tokens(session: AsyncSession, link_id: int) -> list[LinkToken]:
    stmt = select(LinkToken).where(LinkToken.link_id == link_id, LinkToken.expires_at > func.now())
    return list((await session.execute(stmt)).scalars())


async def purge_expired_link_tokens(session: AsyncSession, link_id: int) -> None:
    """Drop this link's expired token rows: bounded by the link's own issue rate."""
    await session.execute(
        delete(LinkToken).where(LinkToken.link_id == link_id, LinkToken.expires_at <= func.now())
    )
