"""A burst of joins and leaves in a crowded channel (decision 0033): each window goes out
as `presence_diff` frames of bounded size that, applied in order, are the window."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

from broker import Broker
from broker.memory import MemoryBroker
from broker.redis import RedisBroker
from domain.events import EventHeader
from realtime.connection import Outgoing
from realtime.presence_diff import MAX_USERS_PER_FRAME, PresenceCoalescer
from tests.backing import Backing

BURST = 2 * MAX_USERS_PER_FRAME + 300
LEFT = 200  # of the BURST users, these leave again in the same window


@pytest.fixture(params=["redis", "memory"])
async def broker(
    request: pytest.FixtureRequest, backing: Backing, redis_prefix: str
) -> AsyncIterator[Broker]:
    b: Broker
    if request.param == "redis":
        b = RedisBroker(
            backing.redis_url, "node-a", prefix=f"{redis_prefix}-{secrets.token_hex(4)}"
        )
    else:
        b = MemoryBroker("node-a")
    await b.start()
    try:
        yield b
    finally:
        await b.close()


def presence(kind: str, uid: int) -> tuple[EventHeader, str]:
    return EventHeader(origin="node-b", type=kind), json.dumps(
        {"type": kind, "channel": "room:1", "user": {"id": uid, "name": f"U{uid}"}}
    )


async def test_a_burst_bigger_than_a_frame_goes_out_in_bounded_frames_each_user_once(
    broker: Broker,
) -> None:
    sent: list[dict[str, Any]] = []
    flushed = asyncio.Event()

    def deliver(channel: str, out: Outgoing) -> None:
        sent.append(json.loads(out.text))
        if sum(len(f["joined"]) + len(f["left"]) for f in sent) >= BURST:
            flushed.set()

    coalescer = PresenceCoalescer(broker, deliver, window=0.05)
    coalescer.seen("room:1", 5000)  # crowded: above the threshold
    for uid in range(BURST):
        assert coalescer.take("room:1", *presence("join", uid))
    for uid in range(LEFT):
        assert coalescer.take("room:1", *presence("leave", uid))
    await asyncio.wait_for(flushed.wait(), 10)

    assert len(sent) == 3, "ceil(BURST / MAX_USERS_PER_FRAME) frames"
    assert all(len(f["joined"]) + len(f["left"]) <= MAX_USERS_PER_FRAME for f in sent)
    users = [u["id"] for f in sent for u in [*f["joined"], *f["left"]]]
    assert sorted(users) == list(range(BURST)), "every user exactly once"
    left = {u["id"] for f in sent for u in f["left"]}
    assert left == set(range(LEFT)), "a user's last event wins"
    assert len({f["count"] for f in sent}) == 1, "one count for the whole window"
