"""Reconnect with `since`: exactly the missed events, then live, no seam duplicates."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from tests.conftest import ApiFactory
from tests.support import Api


async def test_reconnect_with_since_replays_exactly_what_was_missed(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    channel = f"room:{room}"
    r = await api.ws(ravi)
    await r.subscribe(channel)
    for i in range(3):
        await api.post(asha, room, f"before {i}")
    seen = await r.messages(3)
    last = seen[-1]["seq"]
    await r.close()
    for i in range(50):
        await api.post(asha, room, f"missed {i}")
    r = await api.ws(ravi)
    reply = await r.subscribe(channel, since=last)
    assert reply["head"] == 53 and reply["recovered"] is True
    replayed = await r.messages(50)
    assert [m["seq"] for m in replayed] == list(range(4, 54))
    assert [m["body"] for m in replayed] == [f"missed {i}" for i in range(50)]
    await api.post(asha, room, "live")
    (live,) = await r.messages(1)
    assert live["seq"] == 54 and live["body"] == "live"
    await r.close()


async def test_no_gap_or_duplicate_at_the_seam_while_messages_keep_arriving(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    channel = f"room:{room}"
    for i in range(20):
        await api.post(asha, room, f"m{i}")

    async def keep_posting() -> None:
        for i in range(40):
            await api.post(asha, room, f"during {i}")

    poster = asyncio.create_task(keep_posting())
    r = await api.ws(ravi)
    await r.subscribe(channel, since=5)
    await poster
    got = await r.messages(60 - 5)
    assert [m["seq"] for m in got] == list(range(6, 61))
    await r.close()


async def test_since_beyond_head_is_not_recovered(api: Api) -> None:
    asha = await api.user()
    room = await api.room(asha)
    await api.post(asha, room, "one")
    ws = await api.ws(asha)
    reply = await ws.subscribe(f"room:{room}", since=99)
    assert reply["head"] == 1 and reply["recovered"] is False
    await ws.close()


@pytest.fixture
async def small_history_api(api_with: ApiFactory) -> AsyncIterator[Api]:
    """A server whose Redis history keeps only 10 events per channel."""
    async with api_with(redis_prefix="small-" + secrets.token_hex(3), history_cap=10) as api:
        yield api


async def test_recovery_older_than_redis_history_falls_back_to_postgresql(
    small_history_api: Api,
) -> None:
    api = small_history_api
    asha = await api.user()
    room = await api.room(asha)
    for i in range(120):
        await api.post(asha, room, f"m{i}")
    ws = await api.ws(asha)
    reply = await ws.subscribe(f"room:{room}", since=0)
    assert reply["recovered"] is True and reply["head"] == 120
    got = await ws.messages(120)
    assert [m["seq"] for m in got] == list(range(1, 121))
    await ws.close()


async def test_a_long_replay_is_paced_not_refused(api: Api) -> None:
    """Replay larger than the outbound queue is flow-controlled, not closed as too slow."""
    asha = await api.user()
    room = await api.room(asha)
    await asyncio.gather(*(api.post(asha, room, f"m{i}") for i in range(700)))
    ws = await api.ws(asha)
    await ws.subscribe(f"room:{room}", since=0)
    got = await ws.messages(700, within=60)
    assert [m["seq"] for m in got] == list(range(1, 701))
    await ws.close()
