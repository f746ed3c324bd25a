"""Limits: a slow consumer is cut off without slowing others; floods are rate limited."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import ApiFactory
from tests.support import Api


@pytest.fixture
async def tight_api(api_with: ApiFactory) -> AsyncIterator[Api]:
    """A server with a low rate limit."""
    async with api_with(ws_rate_per_second=5, ws_rate_burst=10) as api:
        yield api


@pytest.fixture
async def small_queue_api(api_with: ApiFactory) -> AsyncIterator[Api]:
    """A server with a small outbound queue."""
    async with api_with(
        ws_outbound_queue=32, ws_rate_per_second=10_000, ws_rate_burst=10_000
    ) as api:
        yield api


async def test_a_slow_consumer_is_closed_with_4008_while_others_keep_up(
    small_queue_api: Api,
) -> None:
    api = small_queue_api
    asha, slow_user, fast_user = (
        await api.user("Asha"),
        await api.user("Slow"),
        await api.user("Fast"),
    )
    room = await api.room(asha, slow_user, fast_user)
    channel = f"room:{room}"

    # The slow client stops reading after subscribing: with max_queue=1 the websockets
    # library stops reading the socket, the kernel buffers fill, and the server's bounded
    # queue for this connection overflows.
    slow = await connect(api.ws_url, max_queue=1, max_size=None, compression=None)
    await slow.send(json.dumps({"type": "auth", "token": slow_user.token}))
    await slow.recv()
    await slow.send(json.dumps({"type": "subscribe", "channel": channel, "ref": "s"}))
    fast = await api.ws(fast_user)
    await fast.subscribe(channel)
    sender = await api.ws(asha)

    total = 1500  # ~6 MB: more than loopback socket buffers can absorb
    body = "x" * 3900
    for n in range(total):
        await sender.send({"type": "send", "channel": channel, "body": body, "client_id": f"c{n}"})
    got = await fast.messages(total, within=120)
    assert [m["seq"] for m in got] == list(range(1, total + 1))
    lag = [
        time.time() - datetime.fromisoformat(m["created_at"].replace("Z", "+00:00")).timestamp()
        for m in got[-10:]
    ]
    # The fast consumer kept up: the last messages reached it within a second of commit.
    assert max(lag) < 1.0

    # Draining the slow socket: what was buffered, then a close with 4008.
    async with asyncio.timeout(60):
        try:
            while True:
                await slow.recv()
        except ConnectionClosed:
            pass
    assert slow.close_code == 4008
    await fast.close()
    await sender.close()


async def test_a_flood_is_answered_with_rate_limited_then_closed_with_4029(tight_api: Api) -> None:
    ws = await tight_api.ws(await tight_api.user())
    for _ in range(300):
        await ws.send({"type": "ping"})
    codes = []
    async with asyncio.timeout(20):
        try:
            while True:
                frame = await ws.recv()
                codes.append(frame.get("code"))
        except Exception:  # noqa: BLE001 - the server closed the socket
            pass
    assert "rate_limited" in codes
    assert ws.conn.close_code == 4029
