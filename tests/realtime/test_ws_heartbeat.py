"""The deadlines a WebSocket keeps, over a real server: the `auth` frame's, the heartbeat
`ping` after silence, the close after three heartbeats without a sign of life — and a
client that keeps answering stays open."""

from __future__ import annotations

import time

from tests.conftest import ApiFactory
from tests.support import WsClient

HEARTBEAT = 1  # seconds (PARLEY_WS_HEARTBEAT)


async def test_no_auth_frame_in_time_is_refused_4001(api_with: ApiFactory) -> None:
    async with api_with(ws_auth_timeout=0.5) as api:
        ws = await WsClient.open(api.ws_url, None)
        start = time.monotonic()
        error = await ws.recv(within=5)
        assert error["type"] == "error" and error["code"] == "unauthorized", error
        assert await ws.closed_with() == 4001
        assert time.monotonic() - start >= 0.5 - 0.01


async def test_silence_gets_a_ping_after_a_heartbeat_then_a_close_after_three(
    api_with: ApiFactory,
) -> None:
    async with api_with(ws_heartbeat=HEARTBEAT) as api:
        ws = await api.ws(await api.user())
        heard = time.monotonic()
        ping = await ws.recv(within=5)
        assert ping["type"] == "ping", ping
        assert time.monotonic() - heard >= HEARTBEAT - 0.01
        assert await ws.closed_with(within=10) == 1000
        assert time.monotonic() - heard >= 3 * HEARTBEAT - 0.01


async def test_a_client_that_answers_every_ping_stays_open(api_with: ApiFactory) -> None:
    async with api_with(ws_heartbeat=HEARTBEAT) as api:
        ws = await api.ws(await api.user())
        for _ in range(4):  # past the 3 heartbeats after which a silent client is closed
            ping = await ws.recv(within=5)
            assert ping["type"] == "ping", ping
            await ws.send({"type": "pong"})
        reply = await ws.request({"type": "ping"})
        assert reply["type"] == "pong"
