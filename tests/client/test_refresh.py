"""The token is renewed in band before it expires, so the connection is kept (PROTOCOL.md
"Connecting": `refresh` -> `refreshed`; the server closes with 4001 on an expired token)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from app.security import token_codec
from app.settings import Settings
from client import ParleyClient, RestTokens, StaticToken
from client.tokens import token_times
from domain.security import TokenKind
from tests.client.conftest import messages, until
from tests.support import Api


async def test_an_in_band_refresh_before_expiry_keeps_the_connection(
    api: Api, settings: Settings
) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    # Access tokens live at least a minute; the socket opens with one that lives 7 s, so
    # the test proves the server moved the connection's expiry to the refreshed token's.
    # (RestTokens renews a token with under 5 s left before connecting with it.)
    short = token_codec(settings).issue(
        asha.id, "student", TokenKind.access, ttl=timedelta(seconds=7)
    )
    expires_at = token_times(short)
    assert expires_at is not None
    tokens = RestTokens(
        str(api.http.base_url), access_token=short, refresh_token=asha.refresh_token, http=api.http
    )
    async with ParleyClient(api.ws_url, tokens, refresh_at=0.3) as client:
        sub = await client.subscribe(f"room:{room}")
        await until(lambda: client.stats.refreshes >= 1)
        # Past the first token's expiry (the server checks it on a timer and on every frame).
        await asyncio.sleep(max(0.0, expires_at.expires_at + 1.5 - time.time()))

        ack = await client.send(f"room:{room}", "still here")
        (seen,) = await messages(sub, 1)

        assert seen.seq == ack.seq == 1
        assert client.stats.connects == 1  # one hello: never closed with 4001, never reconnected


async def test_without_a_refresh_an_expired_token_reconnects_with_a_new_one(
    api: Api, settings: Settings
) -> None:
    """4001 on expiry: the client asks its token source for a new token and resumes."""
    asha = await api.user("Asha")
    room = await api.room(asha)
    codec = token_codec(settings)
    issued: list[str] = []

    class LazyTokens:
        # Tokens that live 2 s; a new one only once the current one has expired, so the
        # in-band refresh gets nothing newer and the server closes with 4001 at expiry.
        async def token(self) -> str:
            return issued[-1] if issued else await self.refresh()

        async def refresh(self) -> str:
            times = token_times(issued[-1]) if issued else None
            if times is None or times.expires_at <= time.time():
                ttl = timedelta(seconds=2)
                issued.append(codec.issue(asha.id, "student", TokenKind.access, ttl=ttl))
            return issued[-1]

    async with ParleyClient(api.ws_url, LazyTokens()) as client:
        sub = await client.subscribe(f"room:{room}")
        await api.post(asha, room, "one")
        await until(lambda: client.stats.connects >= 2, within=15)
        await api.post(asha, room, "two")
        got = await messages(sub, 2)
        assert [m.seq for m in got] == [1, 2]


async def test_a_static_service_token_is_used_as_is(api: Api, settings: Settings) -> None:
    asha = await api.user("Asha")
    async with ParleyClient(api.ws_url, StaticToken(asha.token)) as client:
        assert client.hello is not None and client.hello.user.id == asha.id
    async with ParleyClient(api.ws_url, asha.token) as client:  # a str is a static token
        assert await client.ping() >= 0
