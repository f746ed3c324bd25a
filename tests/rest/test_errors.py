"""One error schema everywhere, and honest health checks.

Every REST error is exactly {"error": {"code", "message", "details"}} with a PROTOCOL.md
code and no server internals; a database outage is 503 `unavailable`, not 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.security import token_codec
from app.settings import Settings
from domain.security import TokenKind
from tests.backing import Backing
from tests.conftest import make_settings
from tests.rest.expect import error_of
from tests.servers import InProcessServer, free_port
from tests.support import Api

CLOSED_PORT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:1/x"


# --- request errors ------------------------------------------------------------------------


# Unparseable bodies (400 `bad_request`) and ids out of range or not numbers: see
# test_contract.py and test_limits.py.


async def test_a_json_body_that_is_not_an_object_is_invalid(api: Api) -> None:
    asha = await api.user("Asha")
    for raw in (b"[]", b'"Bio"', b"null", b"42"):
        r = await api.http.post(
            "/api/v1/rooms",
            content=raw,
            headers={**asha.headers, "Content-Type": "application/json"},
        )
        error_of(r, 422, "invalid")


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/api/v1/rooms", {"name": 42}, "body.name"),
        ("/api/v1/rooms", {"name": ["Bio"]}, "body.name"),
        ("/api/v1/rooms/join", {"invite_code": None}, "body.invite_code"),
        ("/api/v1/rooms", {}, "body.name"),
    ],
    ids=["int-for-str", "list-for-str", "null-for-str", "missing"],
)
async def test_wrong_types_are_invalid_and_name_the_field(
    api: Api, path: str, payload: dict[str, Any], field: str
) -> None:
    asha = await api.user("Asha")
    r = await api.http.post(path, json=payload, headers=asha.headers)
    error = error_of(r, 422, "invalid")
    assert [d["field"] for d in error["details"]] == [field], error
    assert all(set(d) == {"field", "problem"} for d in error["details"]), error


async def test_a_wrong_type_in_the_messages_body_is_invalid(api: Api) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    r = await api.http.post(
        f"/api/v1/rooms/{room_id}/messages",
        json={"body": {"text": "hi"}, "client_id": 7},
        headers=asha.headers,
    )
    error = error_of(r, 422, "invalid")
    assert {d["field"] for d in error["details"]} == {"body.body", "body.client_id"}, error


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/rooms", "/api/v1/rooms/1/nothing"])
async def test_an_unknown_route_is_not_found(api: Api, path: str) -> None:
    asha = await api.user("Asha")
    error_of(await api.http.get(path, headers=asha.headers), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/rooms/1/nothing-here"),
        ("DELETE", "/api/v1/no/such/thing"),
        ("PUT", "/api/v1/nope"),
    ],
)
async def test_an_unknown_api_route_is_not_found_whatever_the_method(
    api: Api, method: str, path: str
) -> None:
    """No resource exists there, so no method is "not allowed" on it: 404, not 405."""
    asha = await api.user("Asha")
    r = await api.http.request(method, path, headers=asha.headers)
    error_of(r, 404, "not_found")


async def test_a_wrong_method_answers_with_the_error_schema(api: Api) -> None:
    r = await api.http.put("/api/v1/auth/register", json={})
    assert r.status_code == 405, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert "Traceback" not in r.text


# --- health --------------------------------------------------------------------------------


async def test_healthz_answers_ok(api: Api) -> None:
    r = await api.http.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_readyz_is_ready_when_postgres_and_redis_answer(api: Api) -> None:
    r = await api.http.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


# --- the database is down ------------------------------------------------------------------


@pytest.fixture
def broken_settings(backing: Backing, redis_prefix: str, data_dir: Path) -> Settings:
    """Settings whose database is a closed port (nothing listens on 127.0.0.1:1)."""
    return make_settings(backing, redis_prefix, data_dir, database_url=CLOSED_PORT_DATABASE)


@pytest.fixture
async def broken(broken_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A real server whose PostgreSQL is unreachable (Redis is fine)."""
    srv = InProcessServer(broken_settings, free_port())
    await srv.start()
    try:
        async with httpx.AsyncClient(base_url=srv.url, timeout=30) as http:
            yield http
    finally:
        await srv.stop()


def _bearer(settings: Settings, user_id: int = 1) -> dict[str, str]:
    token = token_codec(settings).issue(user_id, "student", TokenKind.access)
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/users/me", None),
        ("GET", "/api/v1/rooms", None),
        ("POST", "/api/v1/rooms", {"name": "Bio"}),
        ("GET", "/api/v1/rooms/1/messages", None),
        ("POST", "/api/v1/rooms/1/messages", {"body": "hi", "client_id": "down-1"}),
    ],
    ids=["me", "list-rooms", "create-room", "history", "send"],
)
async def test_a_database_outage_is_503_unavailable(
    broken: httpx.AsyncClient,
    broken_settings: Settings,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    r = await broken.request(method, path, json=body, headers=_bearer(broken_settings))
    error = error_of(r, 503, "unavailable")
    assert "127.0.0.1:1" not in error["message"]
    assert "postgres" not in r.text.lower()


async def test_login_during_a_database_outage_is_503_unavailable(
    broken: httpx.AsyncClient,
) -> None:
    r = await broken.post(
        "/api/v1/auth/token", data={"username": "asha@example.com", "password": "whatever1"}
    )
    error_of(r, 503, "unavailable")


async def test_readyz_reports_the_database_down(broken: httpx.AsyncClient) -> None:
    r = await broken.get("/readyz")
    assert r.status_code == 503, r.text
    assert r.json() == {"status": "unavailable", "checks": {"database": "down", "redis": "ok"}}


async def test_healthz_stays_up_during_a_database_outage(broken: httpx.AsyncClient) -> None:
    r = await broken.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
