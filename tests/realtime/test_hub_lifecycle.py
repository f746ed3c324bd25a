"""Subscription life cycle under failure and concurrency: nothing half-made, nothing stale.

A `GatedBroker` is the in-process broker with gates on subscribe/unsubscribe, so the
interleavings that real Redis round trips allow can be set up deterministically.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.memory import MemoryBroker
from models.db import make_sessionmaker
from realtime.connection import Connection
from realtime.hub import Hub
from tests.realtime.hub_world import World, deliver, frames, hub, messages_of, world
from tests.support import Api

__all__ = ["hub", "world"]  # fixtures, re-used


class GatedBroker(MemoryBroker):
    def __init__(self, node: str) -> None:
        super().__init__(node)
        self.subscribe_gate = asyncio.Event()
        self.subscribe_gate.set()
        self.unsubscribe_gate = asyncio.Event()
        self.unsubscribe_gate.set()
        self.subscribing = asyncio.Event()
        self.unsubscribing = asyncio.Event()

    async def subscribe(self, channel: str) -> None:
        self.subscribing.set()
        await self.subscribe_gate.wait()
        await super().subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        self.unsubscribing.set()
        await self.unsubscribe_gate.wait()
        await super().unsubscribe(channel)


@pytest.fixture
async def gated(db: AsyncEngine) -> AsyncIterator[tuple[Hub, GatedBroker]]:
    broker = GatedBroker("this-node")
    hub = Hub(broker, make_sessionmaker(db))
    yield hub, broker
    broker.subscribe_gate.set()
    broker.unsubscribe_gate.set()
    await hub.close()


async def test_a_subscribe_cancelled_mid_way_leaves_nothing_behind(
    gated: tuple[Hub, GatedBroker], world: World
) -> None:
    hub, broker = gated
    events = await world.store(1)
    gone = Connection(world.ref, 512)
    hub.register(gone)
    broker.subscribe_gate.clear()
    attempt = asyncio.create_task(hub.subscribe(gone, world.channel, None, "r"))
    await asyncio.wait_for(broker.subscribing.wait(), 5)
    attempt.cancel()  # the client went away while Redis had not confirmed yet
    with pytest.raises(asyncio.CancelledError):
        await attempt
    assert world.channel not in hub.channels

    broker.subscribe_gate.set()
    conn = Connection(world.ref, 512)
    hub.register(conn)
    await hub.subscribe(conn, world.channel, None, "r2")
    more = await world.store(2)
    deliver(hub, more[2])
    assert await messages_of(conn, 1) == frames({**events, **more}, 2)


async def test_a_subscribe_queued_behind_a_release_never_sees_a_half_made_channel(
    gated: tuple[Hub, GatedBroker], world: World
) -> None:
    hub, broker = gated
    events = await world.store(1, 2, 3)
    first = Connection(world.ref, 512)
    hub.register(first)
    await hub.subscribe(first, world.channel, None, "a")

    broker.unsubscribe_gate.clear()
    leaving = asyncio.create_task(hub.unsubscribe(first, world.channel))
    await asyncio.wait_for(broker.unsubscribing.wait(), 5)  # release holds the channel lock
    queued = Connection(world.ref, 512)
    hub.register(queued)
    broker.subscribe_gate.clear()
    broker.subscribing.clear()
    waiting = asyncio.create_task(hub.subscribe(queued, world.channel, None, "x"))
    async with asyncio.timeout(5):  # until it queues on the channel lock
        while hub.broker_channels._locks[world.channel].users < 2:  # noqa: ASYNC110 - a lock has no waiter event
            await asyncio.sleep(0)
    broker.unsubscribe_gate.set()
    await leaving
    await asyncio.wait_for(broker.subscribing.wait(), 5)  # `waiting` is now acquiring

    resuming = Connection(world.ref, 512)
    hub.register(resuming)
    resume = asyncio.create_task(hub.subscribe(resuming, world.channel, 0, "z"))
    broker.subscribe_gate.set()
    await asyncio.wait_for(asyncio.gather(waiting, resume), 5)
    assert await messages_of(resuming, 3) == frames(events, 1, 2, 3)


async def test_resuming_on_a_worker_that_lags_behind_storage_is_still_recovered(
    hub: Hub, world: World
) -> None:
    events = await world.store(1)
    watcher = Connection(world.ref, 512)
    hub.register(watcher)
    await hub.subscribe(watcher, world.channel, None, "w")  # this worker's position: 1
    later = await world.store(2, 3)  # stored; this worker has not seen the publishes yet
    conn = Connection(world.ref, 512)
    hub.register(conn)
    await hub.subscribe(conn, world.channel, 3, "r")  # the client saw 3 on another worker
    raw = await asyncio.wait_for(conn.next(), 5)
    assert raw is not None
    subscribed = json.loads(raw.text)
    assert subscribed["head"] == 3 and subscribed["recovered"] is True
    deliver(hub, later[3])  # the late publish must not reach the resumed client again
    assert await messages_of(watcher, 2) == frames({**events, **later}, 2, 3)
    await conn.put('{"type":"fence"}')
    kinds = []
    while (frame := await asyncio.wait_for(conn.next(), 5)) is not None:
        if frame.text == '{"type":"fence"}':
            break
        kinds.append(json.loads(frame.text)["type"])
    assert "message" not in kinds


async def test_an_sse_resume_longer_than_the_queue_streams_everything(api: Api) -> None:
    asha = await api.user()
    room = await api.room(asha)
    await asyncio.gather(*(api.post(asha, room, f"m{i}") for i in range(600)))
    seqs: list[int] = []
    headers = {**asha.headers, "Last-Event-ID": "0"}
    async with (
        asyncio.timeout(60),
        api.http.stream("GET", f"/api/v1/rooms/{room}/events", headers=headers) as r,
    ):
        assert r.status_code == 200
        async for line in r.aiter_lines():
            if line.startswith("id:"):
                seqs.append(int(line[3:]))
                if len(seqs) == 600:
                    break
    assert seqs == list(range(1, 601))
