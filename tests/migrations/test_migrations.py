"""Alembic migrations on a fresh database: upgrade to head, downgrade to base leaving
nothing behind (tables or PostgreSQL enum types), and upgrade again.

Runs on its own database on the backing server, so it never touches the suite's schema.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from app.cli import ROOT, migrate
from app.settings import Settings
from models import Base  # the package: every table registered
from tests.backing import Backing

TABLES = {
    "users",
    "rooms",
    "memberships",
    "messages",
    "quizzes",
    "questions",
    "attempts",
    "answers",
    "revoked_tokens",
    "bot_streams",
    "quiz_sessions",
    "session_answers",
    "board_versions",
    "service_links",
    "link_tokens",
    "doctor_profiles",
    "consultation_shares",
    "symptom_entries",
    "access_log",
    "notifications",
}
ENUMS = {"user_role", "room_kind", "member_role", "subject", "difficulty", "share_mode"}


def _with_database(url: str, database: str) -> str:
    """The same server (TCP or a unix socket in `?host=`), another database."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def _alembic_config(url: str) -> Config:
    """The Config app.cli.migrate builds, for commands it does not offer (downgrade)."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _head() -> str:
    head = ScriptDirectory.from_config(_alembic_config("postgresql://unused/x")).get_current_head()
    assert head is not None
    return head


@pytest.fixture
async def fresh_database(backing: Backing) -> AsyncIterator[str]:
    """An empty database of its own, dropped afterwards; its asyncpg URL."""
    name = f"parley_mig_{secrets.token_hex(4)}"
    admin = create_async_engine(
        _with_database(backing.database_url, "postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield _with_database(backing.database_url, name)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def _schema(url: str) -> tuple[set[str], set[str], list[str]]:
    """(tables, enum types, alembic_version rows) in the public schema."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            tables = set(
                (
                    await conn.execute(
                        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                    )
                ).scalars()
            )
            enums = set(
                (
                    await conn.execute(
                        text(
                            "SELECT t.typname FROM pg_type t "
                            "JOIN pg_namespace n ON n.oid = t.typnamespace "
                            "WHERE t.typtype = 'e' AND n.nspname = 'public'"
                        )
                    )
                ).scalars()
            )
            versions: list[str] = []
            if "alembic_version" in tables:
                versions = list(
                    (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars()
                )
            return tables, enums, versions
    finally:
        await engine.dispose()


async def _upgrade(url: str) -> None:
    await asyncio.to_thread(migrate, Settings.model_validate({"database_url": url}), "head")


async def _downgrade(url: str) -> None:
    await asyncio.to_thread(command.downgrade, _alembic_config(url), "base")


async def test_upgrade_downgrade_upgrade_round_trip(fresh_database: str) -> None:
    url = fresh_database
    assert await _schema(url) == (set(), set(), [])

    await _upgrade(url)
    tables, enums, versions = await _schema(url)
    assert tables == TABLES | {"alembic_version"}
    assert enums == ENUMS
    assert versions == [_head()]

    await _downgrade(url)
    tables, enums, versions = await _schema(url)
    assert tables - {"alembic_version"} == set(), tables
    assert enums == set(), enums
    assert versions == []

    await _upgrade(url)
    tables, enums, versions = await _schema(url)
    assert tables == TABLES | {"alembic_version"}
    assert enums == ENUMS
    assert versions == [_head()]


async def test_upgrade_twice_is_a_no_op(fresh_database: str) -> None:
    await _upgrade(fresh_database)
    before = await _schema(fresh_database)
    await _upgrade(fresh_database)
    assert await _schema(fresh_database) == before


async def test_the_migrated_schema_enforces_what_the_code_relies_on(fresh_database: str) -> None:
    """Constraints the domain depends on exist in the migrated database, not just the models:
    case-insensitive unique emails, one message per (room, seq) and per (author, client_id)."""
    await _upgrade(fresh_database)
    engine = create_async_engine(fresh_database)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO users (id, email, display_name, role, is_active) "
                    "VALUES (1, 'Asha@Example.com', 'Asha', 'student', true)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO rooms (id, kind, name, owner_id) "
                    "VALUES (1, 'study_group', 'Bio', 1)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO messages (room_id, seq, author_id, body, client_id) "
                    "VALUES (1, 1, 1, 'hi', 'c1')"
                )
            )
        duplicates = [
            "INSERT INTO users (email, display_name, role, is_active) "
            "VALUES ('asha@example.COM', 'Asha 2', 'student', true)",
            "INSERT INTO messages (room_id, seq, author_id, body, client_id) "
            "VALUES (1, 1, 1, 'same seq', 'c2')",
            "INSERT INTO messages (room_id, seq, author_id, body, client_id) "
            "VALUES (1, 2, 1, 'same client id', 'c1')",
        ]
        for statement in duplicates:
            with pytest.raises(IntegrityError, match="unique"):
                async with engine.begin() as conn:
                    await conn.execute(text(statement))
        async with engine.connect() as conn:
            last_seq = (await conn.execute(text("SELECT last_seq FROM rooms"))).scalar_one()
        assert last_seq == 0  # server default
    finally:
        await engine.dispose()


async def test_the_migrated_schema_is_the_models_schema(fresh_database: str) -> None:
    """Nothing the models declare is missing from the migrations, and nothing is left over
    (tables, columns and their types, indexes, constraints): a model change without its
    migration, or a migration without its model change, fails here."""
    await _upgrade(fresh_database)
    engine = create_async_engine(fresh_database)
    try:
        async with engine.connect() as conn:
            drift = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()
    assert drift == []
