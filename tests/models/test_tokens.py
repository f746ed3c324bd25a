"""models/tokens.py: the durable denylist: atomic claims, one-round-trip checks, purging."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from models import RevokedToken, Role, User
from models.db import make_sessionmaker
from models.tokens import (
    PURGE_GRACE,
    active_user_unless_revoked,
    claim_revocation,
    purge_expired,
)


async def _user(engine: AsyncEngine) -> int:
    async with make_sessionmaker(engine)() as session:
        user = User(email=f"{uuid.uuid4().hex}@example.com", display_name="Asha", role=Role.student)
        session.add(user)
        await session.commit()
        return user.id


async def _jtis(engine: AsyncEngine) -> set[str]:
    async with make_sessionmaker(engine)() as session:
        return set((await session.execute(select(RevokedToken.jti))).scalars())


async def test_of_concurrent_claims_on_one_jti_exactly_one_wins(db: AsyncEngine) -> None:
    user_id = await _user(db)
    sessions = make_sessionmaker(db)
    expires = datetime.now(UTC) + timedelta(days=1)

    async def claim() -> bool:
        async with sessions() as session:
            won = await claim_revocation(session, "shared-jti", user_id, expires)
            await session.commit()
            return won

    results = await asyncio.gather(*(claim() for _ in range(10)))
    assert sorted(results) == [False] * 9 + [True]
    assert await _jtis(db) == {"shared-jti"}


async def test_the_check_reports_the_user_and_whether_the_jti_is_revoked(
    db: AsyncEngine,
) -> None:
    user_id = await _user(db)
    async with make_sessionmaker(db)() as session:
        await claim_revocation(session, "gone", user_id, datetime.now(UTC) + timedelta(hours=1))
        await session.commit()

        user, revoked = await active_user_unless_revoked(session, user_id, "gone")
        assert user is not None and user.id == user_id and revoked
        user, revoked = await active_user_unless_revoked(session, user_id, "fine")
        assert user is not None and not revoked
        user, _ = await active_user_unless_revoked(session, user_id + 1000, "fine")
        assert user is None


async def test_purge_removes_only_rows_whose_token_expired_beyond_the_grace(
    db: AsyncEngine,
) -> None:
    user_id = await _user(db)
    now = datetime.now(UTC)
    rows = {
        "long-dead": now - PURGE_GRACE - timedelta(days=1),
        "just-dead": now - PURGE_GRACE - timedelta(minutes=1),
        "within-grace": now - PURGE_GRACE + timedelta(minutes=2),
        "alive": now + timedelta(days=14),
    }
    async with make_sessionmaker(db)() as session:
        for jti, expires in rows.items():
            await claim_revocation(session, jti, user_id, expires)
        await session.commit()

        assert await purge_expired(session) == 2
        await session.commit()
    assert await _jtis(db) == {"within-grace", "alive"}


async def test_purge_does_bounded_work_per_call(db: AsyncEngine) -> None:
    user_id = await _user(db)
    dead = datetime.now(UTC) - PURGE_GRACE - timedelta(hours=1)
    async with make_sessionmaker(db)() as session:
        for i in range(7):
            await claim_revocation(session, f"dead-{i}", user_id, dead)
        await session.commit()

        assert await purge_expired(session, limit=5) == 5
        assert await purge_expired(session, limit=5) == 2
        assert await purge_expired(session, limit=5) == 0
        await session.commit()
        count = (await session.execute(select(func.count()).select_from(RevokedToken))).scalar()
    assert count == 0
