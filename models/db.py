"""Engine and session factory. One engine per process; sessions are short-lived."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    # No pool_pre_ping: with asyncpg it costs a BEGIN/ROLLBACK round trip on every checkout
    # (5-7% of a worker's CPU under load, see docs/benchmarks.md). A dead connection
    # surfaces as a connection error instead, which transports answer with `unavailable`,
    # and pool_recycle retires connections before server-side idle timeouts hit them.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        pool_timeout=10,
        # Statement parameters are user content (message bodies can be health data): never
        # let them into exception messages and from there into logs.
        hide_parameters=True,
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: domain code returns ORM objects after commit and serializes
    # them; re-loading every attribute would be an extra query per object.
    return async_sessionmaker(engine, expire_on_commit=False)
