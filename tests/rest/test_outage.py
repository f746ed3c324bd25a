"""PostgreSQL refusing connections: every REST call is 503 `unavailable` with Retry-After.

Two real outages: a server whose database is a port where nothing listens, and a server
whose PostgreSQL goes away under it (a gate in front of the real one is shut: open
connections are reset, new ones refused). Nothing is stored, and the server recovers by
itself once PostgreSQL is back.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.security import token_codec
from app.settings import Settings
from domain.security import TokenKind
from tests.backing import Backing
from tests.conftest import ApiFactory
from tests.rest.expect import error_of
from tests.rest.gate import PostgresGate

NOTHING_LISTENS = "postgresql+asyncpg://postgres@127.0.0.1:1/x"


def unavailable(response: httpx.Response) -> None:
    error_of(response, 503, "unavailable")
    assert int(response.headers["retry-after"]) >= 1, response.headers
    assert "127.0.0.1" not in response.text and "asyncpg" not in response.text.lower()


@pytest.fixture
async def gate(backing: Backing) -> AsyncIterator[PostgresGate]:
    g = PostgresGate(backing.database_url)
    await g.open()
    yield g
    await g.shut()


async def _count(db: AsyncEngine, table: str) -> int:
    async with db.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_every_write_is_503_with_retry_after_when_nothing_listens(
    api_with: ApiFactory, settings: Settings
) -> None:
    # api_with's servers share the suite's secret, so this token is one they accept.
    token = token_codec(settings).issue(1, "student", TokenKind.access)
    bearer = {"Authorization": f"Bearer {token}"}
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/v1/rooms/1/messages", {"json": {"body": "hi"}, "headers": bearer}),
        ("POST", "/api/v1/rooms", {"json": {"name": "Bio"}, "headers": bearer}),
        ("POST", "/api/v1/auth/register", {"json": _registration()}),
        ("POST", "/api/v1/auth/token", {"data": {"username": "a@b.co", "password": "x" * 8}}),
    ]
    async with api_with(database_url=NOTHING_LISTENS) as api:
        for method, path, kwargs in calls:
            unavailable(await api.http.request(method, path, **kwargs))


def _registration() -> dict[str, str]:
    return {
        "email": f"ravi-{secrets.token_hex(4)}@example.com",
        "password": "correct horse battery",
        "display_name": "Ravi",
    }


async def test_postgres_going_away_is_503_with_retry_after_and_nothing_is_stored(
    api_with: ApiFactory, gate: PostgresGate, db: AsyncEngine
) -> None:
    async with api_with(database_url=gate.url) as api:
        asha = await api.user("Asha")
        room_id = await api.room(asha)
        await api.post(asha, room_id, "before the outage")
        before = {t: await _count(db, t) for t in ("users", "rooms", "messages")}

        await gate.shut()
        unavailable(
            await api.http.post(
                f"/api/v1/rooms/{room_id}/messages",
                json={"body": "during the outage", "client_id": "outage-1"},
                headers=asha.headers,
            )
        )
        unavailable(
            await api.http.post("/api/v1/rooms", json={"name": "Chem"}, headers=asha.headers)
        )
        unavailable(await api.http.post("/api/v1/auth/register", json=_registration()))
        unavailable(
            await api.http.post(
                "/api/v1/auth/token", data={"username": asha.email, "password": asha.password}
            )
        )
        assert {t: await _count(db, t) for t in before} == before

        await gate.open()
        r = await api.http.post(
            f"/api/v1/rooms/{room_id}/messages",
            json={"body": "after the outage", "client_id": "outage-1"},
            headers=asha.headers,
        )
        assert r.status_code == 201, r.text
        assert r.json()["seq"] == 2
