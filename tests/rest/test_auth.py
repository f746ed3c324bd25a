"""/api/v1/auth and /api/v1/users/me: accounts, tokens, rotation, revocation, tickets.

Every rejected token answers 401 `unauthorized` with `WWW-Authenticate: Bearer`, whatever
is wrong with it (expired, tampered, unsigned, foreign key, missing claims, wrong kind).
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as redis
from jose import jwt
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.security import token_codec
from app.settings import Settings
from domain.security import TokenKind
from tests.conftest import ApiFactory
from tests.rest.expect import error_of
from tests.servers import RedisProcess
from tests.support import Api, User, WsClient

PASSWORD = "correct horse battery"


def _b64url(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(user_id: int, **overrides: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "role": "student",
        "typ": "access",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return claims


async def _me(api: Api, token: str) -> Any:
    return await api.http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})


async def _register(api: Api, email: str, password: str = PASSWORD, name: str = "Asha") -> Any:
    return await api.http.post(
        "/api/v1/auth/register",
        json={"email": email, "password": password, "display_name": name},
    )


async def _login(api: Api, email: str, password: str) -> Any:
    return await api.http.post("/api/v1/auth/token", data={"username": email, "password": password})


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


async def _refresh(api: Api, refresh_token: str) -> Any:
    return await api.http.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})


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


# --- revocation survives Redis losing its data ---------------------------------------------


@pytest.fixture
def private_redis() -> Iterator[RedisProcess]:
    """A Redis of this test's own, which it may flush or restart without touching others'."""
    proc = RedisProcess()
    proc.start()
    yield proc
    proc.kill()


async def _flushall(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        await client.flushall()
        assert await client.dbsize() == 0
    finally:
        await client.aclose()


async def test_a_logged_out_session_stays_revoked_after_redis_restarts_empty(
    api_with: ApiFactory, private_redis: RedisProcess
) -> None:
    """Redis is a cache and a bus: a restart without its data re-enables no token."""
    async with api_with(redis_url=private_redis.url) as api:
        asha = await api.user("Asha")
        r = await api.http.post(
            "/api/v1/auth/logout", headers=asha.headers, json={"refresh_token": asha.refresh_token}
        )
        assert r.status_code == 204, r.text

        private_redis.kill()
        private_redis.start()  # same port, no persistence: every key is gone

        error_of(await _me(api, asha.token), 401, "unauthorized")
        error_of(await _refresh(api, asha.refresh_token), 401, "unauthorized")
        ws = await WsClient.open(api.ws_url, None)
        await ws.send({"type": "auth", "token": asha.token})
        error = await ws.recv()
        assert error["type"] == "error" and error["code"] == "unauthorized", error
        assert await ws.closed_with() == 4001
        # The account itself is fine: a new login works.
        other = await _login(api, asha.email, asha.password)
        assert (await _me(api, other.json()["access_token"])).status_code == 200


async def test_a_used_refresh_token_stays_spent_after_redis_is_flushed(
    api_with: ApiFactory, private_redis: RedisProcess
) -> None:
    async with api_with(redis_url=private_redis.url) as api:
        asha = await api.user("Asha")
        rotated = await _refresh(api, asha.refresh_token)
        assert rotated.status_code == 200, rotated.text

        await _flushall(private_redis.url)

        error_of(await _refresh(api, asha.refresh_token), 401, "unauthorized")
        again = await _refresh(api, rotated.json()["refresh_token"])
        assert again.status_code == 200, again.text


async def test_tokens_are_checked_and_revocations_honoured_while_redis_is_down(
    api_with: ApiFactory, private_redis: RedisProcess
) -> None:
    """The denylist is in PostgreSQL: a Redis outage neither blocks authentication nor
    lets a revoked token through."""
    async with api_with(redis_url=private_redis.url) as api:
        asha, ravi = await api.user("Asha"), await api.user("Ravi")
        assert (await api.http.post("/api/v1/auth/logout", headers=asha.headers)).status_code == 204

        private_redis.kill()

        error_of(await _me(api, asha.token), 401, "unauthorized")
        me = await _me(api, ravi.token)
        assert me.status_code == 200 and me.json()["id"] == ravi.id, me.text
        rotated = await _refresh(api, ravi.refresh_token)
        assert rotated.status_code == 200, rotated.text
        error_of(await _refresh(api, ravi.refresh_token), 401, "unauthorized")


async def test_a_revoked_service_token_stays_revoked_after_redis_is_flushed(
    api_with: ApiFactory, private_redis: RedisProcess, settings: Settings
) -> None:
    """Long-lived bridge tokens are the costliest to see come back to life."""
    async with api_with(redis_url=private_redis.url) as api:
        asha = await api.user("Asha")
        service = token_codec(settings).issue(asha.id, "student", TokenKind.service)
        headers = {"Authorization": f"Bearer {service}"}
        assert (await api.http.post("/api/v1/auth/logout", headers=headers)).status_code == 204

        await _flushall(private_redis.url)

        error_of(await _me(api, service), 401, "unauthorized")


# --- rejected tokens -----------------------------------------------------------------------


async def test_an_expired_token_is_unauthorized(api: Api, settings: Settings) -> None:
    asha = await api.user("Asha")
    expired = token_codec(settings).issue(
        asha.id, "student", TokenKind.access, ttl=timedelta(seconds=-1)
    )
    error_of(await _me(api, expired), 401, "unauthorized")


async def test_a_token_issued_by_the_codec_is_accepted(api: Api, settings: Settings) -> None:
    """The control for the rejections below: the same codec, a valid ttl, accepted."""
    asha = await api.user("Asha")
    token = token_codec(settings).issue(asha.id, "student", TokenKind.access)
    assert (await _me(api, token)).status_code == 200


async def test_a_token_with_a_tampered_signature_is_unauthorized(api: Api) -> None:
    asha = await api.user("Asha")
    head, payload, signature = asha.token.split(".")
    # A middle character carries 6 full bits of the signature (the last one partly padding).
    i = len(signature) // 2
    flipped = "A" if signature[i] != "A" else "B"
    tampered = f"{head}.{payload}.{signature[:i]}{flipped}{signature[i + 1 :]}"
    assert tampered != asha.token
    error_of(await _me(api, tampered), 401, "unauthorized")


async def test_a_token_with_a_tampered_payload_is_unauthorized(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    head, _, signature = asha.token.split(".")
    forged = f"{head}.{_b64url(_claims(ravi.id))}.{signature}"
    error_of(await _me(api, forged), 401, "unauthorized")


async def test_an_unsigned_alg_none_token_is_unauthorized(api: Api) -> None:
    asha = await api.user("Asha")
    for alg in ("none", "None", "NONE"):
        unsigned = f"{_b64url({'alg': alg, 'typ': 'JWT'})}.{_b64url(_claims(asha.id))}."
        error_of(await _me(api, unsigned), 401, "unauthorized")


async def test_a_token_signed_with_another_key_is_unauthorized(api: Api) -> None:
    asha = await api.user("Asha")
    foreign = jwt.encode(_claims(asha.id), "another-secret-" + "y" * 40, algorithm="HS256")
    error_of(await _me(api, foreign), 401, "unauthorized")


async def test_a_token_with_another_hmac_algorithm_is_unauthorized(
    api: Api, settings: Settings
) -> None:
    """The algorithm is pinned: the right key under HS512 is still refused."""
    asha = await api.user("Asha")
    other = jwt.encode(_claims(asha.id), settings.jwt_secret(), algorithm="HS512")
    error_of(await _me(api, other), 401, "unauthorized")


@pytest.mark.parametrize("claim", ["exp", "sub", "jti", "iat", "typ"])
async def test_a_token_missing_a_required_claim_is_unauthorized(
    api: Api, settings: Settings, claim: str
) -> None:
    asha = await api.user("Asha")
    claims = _claims(asha.id)
    del claims[claim]
    token = jwt.encode(claims, settings.jwt_secret(), algorithm=settings.jwt_algorithm)
    error_of(await _me(api, token), 401, "unauthorized")


async def test_a_token_for_a_user_that_does_not_exist_is_unauthorized(
    api: Api, settings: Settings
) -> None:
    await api.user("Asha")
    token = token_codec(settings).issue(2**31 - 1, "student", TokenKind.access)
    error_of(await _me(api, token), 401, "unauthorized")


async def test_a_malformed_bearer_value_is_unauthorized(api: Api) -> None:
    for value in ("Bearer", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz", f"Bearer {'x' * 5000}"):
        r = await api.http.get("/api/v1/users/me", headers={"Authorization": value})
        error_of(r, 401, "unauthorized")


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
