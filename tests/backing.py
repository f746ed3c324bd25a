"""Which real PostgreSQL and Redis the suite uses.

CI (or TEST_DATABASE_URL / TEST_REDIS_URL): the machine's services. Otherwise: the embedded
ones, started once under var/test/. Never a mock of either.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app import embedded

ROOT = Path(__file__).resolve().parent.parent
CI_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
CI_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class Backing:
    database_url: str
    redis_url: str
    handle: embedded.Embedded | None = None
    private_database: str | None = None

    def stop(self) -> None:
        if self.private_database is not None:
            _admin(self.database_url, f'DROP DATABASE IF EXISTS "{self.private_database}"')
        if self.handle is not None:
            self.handle.stop()


def _admin(url: str, statement: str) -> None:
    """Run one statement with AUTOCOMMIT against the server's `postgres` database."""
    import asyncio

    from sqlalchemy import make_url, text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> None:
        engine = create_async_engine(
            make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        async with engine.connect() as conn:
            await conn.execute(text(statement))
        await engine.dispose()

    asyncio.run(run())


def start_backing() -> Backing:
    use_machine = bool(os.environ.get("CI"))
    db = os.environ.get("TEST_DATABASE_URL") or (CI_DATABASE_URL if use_machine else None)
    redis = os.environ.get("TEST_REDIS_URL") or (CI_REDIS_URL if use_machine else None)
    handle = None
    private = None
    if db is None or redis is None:
        handle = embedded.start(ROOT / "var" / "test", database=db is None, redis=redis is None)
        if db is None:
            # A database of its own per run, so two local runs never truncate each other.
            from sqlalchemy import make_url

            private = f"parley_test_{os.getpid()}"
            assert handle.database_url
            _admin(handle.database_url, f'DROP DATABASE IF EXISTS "{private}"')
            _admin(handle.database_url, f'CREATE DATABASE "{private}"')
            db = make_url(handle.database_url).set(database=private).render_as_string(False)
        redis = redis or handle.redis_url
    assert db and redis
    return Backing(db, redis, handle, private)
