"""Engine and session factory. One engine per process; sessions are short-lived."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def make_engine(url: str, *, pool_size: int = 20, max_overflow: int = 0) -> AsyncEngine:
    """One process's engine: up to `pool_size` connections kept open, plus `max_overflow`
    more opened under load and closed again when returned.

    Overflow is 0 by default: an overflow connection is a new PostgreSQL backend per
    checkout (fork, authentication, cold catalog caches, asyncpg's type introspection and
    every statement prepared again), ~13 ms of PostgreSQL CPU against ~0.5 ms for a store
    on a warm connection (docs/benchmarks.md "PostgreSQL CPU per stored message"). A
    checkout beyond `pool_size` waits up to pool_timeout instead.
    """
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
