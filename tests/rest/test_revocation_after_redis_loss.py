"""Revocations and spent refresh tokens hold when Redis loses its data (restarted empty,
flushed) or is down: PostgreSQL has the last word."""

from __future__ import annotations

import redis.asyncio as redis

from app.security import token_codec
from app.settings import Settings
from domain.security import TokenKind
from tests.conftest import ApiFactory
from tests.rest.auth_api import _login, _me, _refresh
from tests.rest.expect import error_of
from tests.servers import RedisProcess
from tests.support import WsClient

# --- revocation survives Redis losing its data ---------------------------------------------


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
