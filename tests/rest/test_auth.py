"""/api/v1/auth and /api/v1/users/me: accounts, tokens, rotation, revocation, tickets."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.rest.auth_api import PASSWORD, _login, _me, _refresh, _register
from tests.rest.expect import error_of
from tests.support import Api, User

# --- register ------------------------------------------------------------------------------


async def test_register_creates_a_student_account(api: Api) -> None:
    r = await _register(api, "asha@example.com", name="  Asha  ")
    assert r.status_code == 201, r.text
    user = r.json()
    assert set(user) == {"id", "email", "display_name", "role", "created_at"}
    assert isinstance(user["id"], int)
    assert user["email"] == "asha@example.com"
    assert user["display_name"] == "Asha"
    assert user["role"] == "student"
    assert "password" not in r.text and "hash" not in r.text


async def test_register_twice_with_the_same_email_in_another_case_conflicts(api: Api) -> None:
    assert (await _register(api, "Ravi.K@Example.com")).status_code == 201
    error_of(await _register(api, "ravi.k@example.COM"), 409, "conflict")


async def test_concurrent_registrations_of_one_email_create_one_account(api: Api) -> None:
    emails = ["meera@example.com", "Meera@example.com", "MEERA@example.com", "meera@Example.com"]
    replies = await asyncio.gather(*(_register(api, e) for e in emails * 2))
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [201] + [409] * 7, [r.text for r in replies]
    for r in replies:
        if r.status_code == 409:
            error_of(r, 409, "conflict")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD, "display_name": "A"}, "body.email"),
        ({"email": "a@example.com", "password": "short", "display_name": "A"}, "body.password"),
        (
            {"email": "a@example.com", "password": PASSWORD, "display_name": "  "},
            "body.display_name",
        ),
        ({"email": "a@example.com", "password": PASSWORD}, "body.display_name"),
    ],
    ids=["bad-email", "short-password", "blank-name", "missing-name"],
)
async def test_register_rejects_invalid_fields(
    api: Api, payload: dict[str, str], field: str
) -> None:
    r = await api.http.post("/api/v1/auth/register", json=payload)
    error = error_of(r, 422, "invalid")
    assert field in [d["field"] for d in error["details"]], error


async def test_register_cannot_choose_a_privileged_role(api: Api) -> None:
    r = await api.http.post(
        "/api/v1/auth/register",
        json={
            "email": "eve@example.com",
            "password": PASSWORD,
            "display_name": "Eve",
            "role": "admin",
        },
    )
    error_of(r, 422, "invalid")


# --- login ---------------------------------------------------------------------------------


async def test_login_returns_an_access_and_a_refresh_token(api: Api) -> None:
    assert (await _register(api, "asha@example.com")).status_code == 201
    r = await _login(api, "ASHA@example.com", PASSWORD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"] and body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]
    assert body["expires_in"] > 0


async def test_login_with_a_wrong_password_is_unauthorized(api: Api) -> None:
    assert (await _register(api, "asha@example.com")).status_code == 201
    error = error_of(await _login(api, "asha@example.com", "wrong password!"), 401, "unauthorized")
    unknown = error_of(await _login(api, "nobody@example.com", PASSWORD), 401, "unauthorized")
    # The same answer whether or not the account exists: no account enumeration.
    assert error["message"] == unknown["message"]


async def test_users_me_describes_the_token_holder(api: Api) -> None:
    asha = await api.user("Asha")
    r = await _me(api, asha.token)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == asha.id
    assert r.json()["email"] == asha.email
    assert r.json()["display_name"] == "Asha"


async def test_users_me_without_a_token_is_unauthorized(api: Api) -> None:
    error_of(await api.http.get("/api/v1/users/me"), 401, "unauthorized")


# --- refresh (rotation) --------------------------------------------------------------------


async def test_refresh_returns_a_new_pair_and_retires_the_old_refresh_token(api: Api) -> None:
    asha = await api.user("Asha")
    r = await _refresh(api, asha.refresh_token)
    assert r.status_code == 200, r.text
    pair = r.json()
    assert pair["token_type"] == "bearer"
    assert pair["access_token"] != asha.token
    assert pair["refresh_token"] != asha.refresh_token
    me = await _me(api, pair["access_token"])
    assert me.status_code == 200 and me.json()["id"] == asha.id

    # Rotation: the used refresh token is spent; the new one works once.
    error_of(await _refresh(api, asha.refresh_token), 401, "unauthorized")
    again = await _refresh(api, pair["refresh_token"])
    assert again.status_code == 200, again.text


async def test_a_refresh_token_is_exchanged_only_once_even_concurrently(api: Api) -> None:
    """Rotation must be atomic: ten simultaneous uses of one refresh token yield one pair.

    Otherwise a stolen refresh token replayed alongside the legitimate one mints extra,
    independent sessions that the rotation was supposed to rule out.
    """
    asha = await api.user("Asha")
    replies = await asyncio.gather(*(_refresh(api, asha.refresh_token) for _ in range(10)))
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [200] + [401] * 9, statuses
    for r in replies:
        if r.status_code != 200:
            error_of(r, 401, "unauthorized")


async def test_a_refresh_token_is_not_an_access_token(api: Api) -> None:
    asha = await api.user("Asha")
    error_of(await _me(api, asha.refresh_token), 401, "unauthorized")


async def test_an_access_token_cannot_be_used_to_refresh(api: Api) -> None:
    asha = await api.user("Asha")
    error_of(await _refresh(api, asha.token), 401, "unauthorized")


async def test_refresh_with_garbage_is_unauthorized(api: Api) -> None:
    error_of(await _refresh(api, "not-a-jwt"), 401, "unauthorized")


# --- logout (revocation) -------------------------------------------------------------------


async def test_logout_revokes_the_access_token(api: Api) -> None:
    asha = await api.user("Asha")
    assert (await _me(api, asha.token)).status_code == 200
    r = await api.http.post("/api/v1/auth/logout", headers=asha.headers)
    assert r.status_code == 204, r.text
    error_of(await _me(api, asha.token), 401, "unauthorized")
    # Other sessions of the same account are unaffected.
    other = await _login(api, asha.email, asha.password)
    assert (await _me(api, other.json()["access_token"])).status_code == 200


async def test_logout_with_the_refresh_token_revokes_it_too(api: Api) -> None:
    asha = await api.user("Asha")
    r = await api.http.post(
        "/api/v1/auth/logout", headers=asha.headers, json={"refresh_token": asha.refresh_token}
    )
    assert r.status_code == 204, r.text
    error_of(await _refresh(api, asha.refresh_token), 401, "unauthorized")


async def test_logging_out_purges_revocations_of_long_expired_tokens(
    api: Api, db: AsyncEngine
) -> None:
    """The denylist stays small without a scheduled job: revocations clean up after
    tokens that can no longer be used anyway."""
    asha = await api.user("Asha")
    long_ago = datetime.now(UTC) - timedelta(days=30)
    async with db.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO revoked_tokens (jti, user_id, expires_at) "
                "VALUES ('expired-long-ago', :uid, :at)"
            ),
            {"uid": asha.id, "at": long_ago},
        )
    assert (await api.http.post("/api/v1/auth/logout", headers=asha.headers)).status_code == 204
    async with db.connect() as conn:
        left = set((await conn.execute(text("SELECT jti FROM revoked_tokens"))).scalars())
    assert "expired-long-ago" not in left
    assert len(left) == 1  # the access token just revoked


async def test_logout_needs_a_token(api: Api) -> None:
    error_of(await api.http.post("/api/v1/auth/logout"), 401, "unauthorized")


# --- SSE tickets ---------------------------------------------------------------------------


async def test_ticket_is_issued_to_an_authenticated_user(api: Api) -> None:
    asha: User = await api.user("Asha")
    r = await api.http.post("/api/v1/auth/ticket", headers=asha.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert isinstance(body["ticket"], str) and len(body["ticket"]) >= 16
    assert 0 < body["expires_in"] <= 60
    second = await api.http.post("/api/v1/auth/ticket", headers=asha.headers)
    assert second.json()["ticket"] != body["ticket"]


async def test_ticket_needs_a_token(api: Api) -> None:
    error_of(await api.http.post("/api/v1/auth/ticket"), 401, "unauthorized")


async def test_a_ticket_is_not_a_bearer_token(api: Api) -> None:
    asha = await api.user("Asha")
    ticket = (await api.http.post("/api/v1/auth/ticket", headers=asha.headers)).json()["ticket"]
    error_of(await _me(api, ticket), 401, "unauthorized")
