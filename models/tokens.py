"""Revoked tokens: the durable denylist (logout, used refresh tokens, revoked service tokens).

PostgreSQL holds it, not Redis: Redis may lose its data (a restart without persistence, a
flush, a failover) and a revoked token must never work again because of that. A row lives
until its token would have expired anyway, plus a grace for clock skew, and is purged by
the next revocations (see `purge_expired`), so the table holds about the live revoked
tokens only. See docs/decisions/0010-where-revocation-lives.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import DateTime, Exists, ForeignKey, Index, String, delete, exists, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.users import User

# A row outlives its token's `exp` by this much before it may be purged: a worker whose
# clock lags the database's would otherwise still accept the token after its row is gone.
PURGE_GRACE = timedelta(minutes=10)
# Rows purged per revocation at most: bounded work per call, and still far more than the
# one row each call adds, so the backlog of expired rows only ever shrinks.
PURGE_BATCH = 100


class RevokedToken(Base):
    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    __table_args__ = (Index("ix_revoked_tokens_expires_at", "expires_at"),)


def is_revoked(jti: str) -> Exists:
    """`EXISTS (a row for jti)`: one primary-key probe, meant to ride along another query."""
    return exists().where(RevokedToken.jti == jti)


async def active_user_unless_revoked(
    session: AsyncSession, user_id: int, jti: str
) -> tuple[User | None, bool]:
    """(the user, whether `jti` is revoked) in ONE round trip: the user lookup every
    authenticated request already makes, with the denylist probe as a second column.

    The user is None when no such user exists (the revoked flag is then meaningless).
    """
    row = (
        await session.execute(
            select(User, is_revoked(jti).label("revoked")).where(User.id == user_id)
        )
    ).one_or_none()
    if row is None:
        return None, False
    return row[0], bool(row[1])


async def claim_revocation(
    session: AsyncSession, jti: str, user_id: int, expires_at: datetime
) -> bool:
    """Record `jti` as revoked. True only for the one caller whose row went in.

    `INSERT ... ON CONFLICT DO NOTHING RETURNING` is atomic under concurrency: a second
    transaction inserting the same key waits for the first and then inserts nothing, so
    of any number of concurrent claims exactly one gets True. The caller commits.
    """
    stmt = (
        insert(RevokedToken)
        .values(jti=jti, user_id=user_id, expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=[RevokedToken.jti])
        .returning(RevokedToken.jti)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def purge_expired(session: AsyncSession, limit: int = PURGE_BATCH) -> int:
    """Delete up to `limit` rows whose token expired more than PURGE_GRACE ago; how many.

    Uses the `expires_at` index and `SKIP LOCKED`, so concurrent purges never wait on each
    other and a call with nothing to purge costs one empty index probe. The caller commits.
    """
    doomed = (
        select(RevokedToken.jti)
        .where(RevokedToken.expires_at < func.now() - PURGE_GRACE)
        .order_by(RevokedToken.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        delete(RevokedToken).where(RevokedToken.jti.in_(doomed)).returning(RevokedToken.jti)
    )
    return len(result.all())
