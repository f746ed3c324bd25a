"""Shared fixtures: real PostgreSQL and Redis, real servers, real clients.

Each test gets an empty database (tables truncated; ids keep growing so no channel name is
ever reused within a run) and the run gets its own Redis key/channel prefix.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.settings import Environment, Settings
from tests.backing import Backing, start_backing
from tests.servers import SERVER_LOGS, InProcessServer, RedisProcess, free_port
from tests.support import Api

TABLES = (
    "notifications, access_log, symptom_entries, consultation_shares, doctor_profiles, "
    "bot_streams, session_answers, quiz_sessions, board_versions, answers, attempts, "
    "questions, quizzes, messages, memberships, rooms, link_tokens, service_links, "
    "revoked_tokens, users"
)


@pytest.fixture(autouse=True)
def server_logs_are_clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test if a server it used logged a traceback, an unretrieved task exception or
    an ASGI crash, unless declared: `@pytest.mark.expect_log(regex, ...)`.

    Autouse, so it is set up before and torn down after the test's servers.
    """
    SERVER_LOGS.begin()
    yield
    allowed = [re.compile(p) for m in request.node.iter_markers("expect_log") for p in m.args]
    if not SERVER_LOGS.used:
        return
    found = SERVER_LOGS.unexpected(allowed)
    if found:
        pytest.fail(
            "a server logged an unexpected failure:\n\n" + "\n---\n".join(found), pytrace=False
        )


@pytest.fixture(scope="session")
def backing() -> Iterator[Backing]:
    b = start_backing()
    yield b
    b.stop()


@pytest.fixture
def private_redis() -> Iterator[RedisProcess]:
    """A Redis of the test's own, which it may flush or restart without touching others'."""
    proc = RedisProcess()
    proc.start()
    yield proc
    proc.kill()


@pytest.fixture(scope="session")
def redis_prefix() -> str:
    return f"parley-test-{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("parley-data")


def make_settings(backing: Backing, prefix: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": Environment.test,
        "database_url": backing.database_url,
        "redis_url": backing.redis_url,
        "redis_prefix": prefix,
        "secret_key": "test-secret-" + "x" * 40,
        "data_dir": data_dir,
        "allowed_origins": ["http://allowed.example"],
        "log_level": "WARNING",
        # Cheap hashing keeps the suite fast; production cost is a setting, not a code path.
        "argon2_time_cost": 1,
        "argon2_memory_kib": 64,
        # The bot answers offline unless a test points it at its own fake model server.
        "openai_api_key": None,
        "openai_base_url": None,
        # Admission control off: in-process servers share pytest's loop on a busy machine,
        # and a 50 ms lag there is the test runner's, not the server's. Its own tests
        # (tests/**/test_admission.py) turn it on.
        "admission_lag_ms": 0,
        # In-process servers run in pytest's own process: leave its collector alone.
        # Worker processes (tests/servers.py) keep the defaults; tests/app/test_gc_tuning.py.
        "gc_freeze": False,
        "gc_gen0_threshold": 0,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture
def settings(backing: Backing, redis_prefix: str, data_dir: Path) -> Settings:
    return make_settings(backing, redis_prefix, data_dir)


@pytest.fixture(scope="session")
async def schema(backing: Backing) -> AsyncIterator[AsyncEngine]:
    """A freshly migrated schema for the whole run."""
    engine = create_async_engine(backing.database_url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    from app.cli import migrate

    await asyncio.to_thread(
        migrate, Settings.model_validate({"database_url": backing.database_url})
    )
    yield engine
    await engine.dispose()


@pytest.fixture
async def db(schema: AsyncEngine) -> AsyncEngine:
    """An empty database (every table truncated) for this test."""
    async with schema.begin() as conn:
        await conn.execute(text(f"TRUNCATE {TABLES} CASCADE"))
    return schema


@pytest.fixture
async def server(db: AsyncEngine, settings: Settings) -> AsyncIterator[InProcessServer]:
    """A real uvicorn server on a free port, in this process (one worker)."""
    srv = InProcessServer(settings, free_port())
    await srv.start()
    yield srv
    await srv.stop()


ApiFactory = Callable[..., AbstractAsyncContextManager[Api]]


@pytest.fixture
def api_with(db: AsyncEngine, backing: Backing, redis_prefix: str, data_dir: Path) -> ApiFactory:
    """A factory for a real server with some settings changed: `async with api_with(x=1)`."""

    @asynccontextmanager
    async def open_api(**overrides: object) -> AsyncIterator[Api]:
        srv = InProcessServer(
            make_settings(backing, redis_prefix, data_dir, **overrides), free_port()
        )
        await srv.start()
        try:
            async with httpx.AsyncClient(base_url=srv.url, timeout=20) as http:
                yield Api(http, srv.ws_url)
        finally:
            await srv.stop()

    return open_api


@pytest.fixture
async def api(server: InProcessServer) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        yield Api(http, server.ws_url)
