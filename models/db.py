"""Engine and session factory. One engine per process; sessions are short-lived."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def make_engine(url: str, *, pool_size: int = 20, max_overflow: int = 0) -> AsyncEngine:
    # 20 kept connections and no overflow (was 10 + 10 overflow): the same most
    # connections a worker holds (PostgreSQL's max_connections is shared by every worker
    # of every process), but a burst no longer closes each overflow connection on return
    # and opens a new one on the next checkout (a connect, authentication and asyncpg's
    # per-connection setup queries each time; decision 0035). Connections are still opened
    # lazily: an idle worker holds only what its busiest moment needed.
    # No pool_pre_ping: with asyncpg it costs a BEGIN/ROLLBACK round trip on every checkout
    # (5-7% of a worker's CPU under load, see docs/benchmarks.md). A dead connection
    # surfaces as a connection error instead, which transports answer with `unavailable`,
    # and pool_recycle retires connections before server-side idle timeouts hit them.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
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
