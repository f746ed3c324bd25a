"""Presence in a crowded room (0027): a subscribe gets a bounded snapshot and a count, and
joins, leaves and first/last connections stay exact however many are online."""

from __future__ import annotations

import asyncio
import json

from app.settings import Settings
from broker import PresenceEntry
from broker.redis import RedisBroker
from realtime.presence import SNAPSHOT_LIMIT
from tests.support import Api

CROWD = 3000
# 100 users of ~40 bytes each and the frame's own fields: far below a full list's ~120 KB.
MAX_SNAPSHOT_BYTES = 8 * 1024


async def seed_crowd(settings: Settings, channel: str) -> tuple[RedisBroker, list[PresenceEntry]]:
    """CROWD users online in `channel` on another (simulated) worker, with ids above any
    real user's."""
    assert settings.redis_url is not None
    broker = RedisBroker(settings.redis_url, "node-far", prefix=settings.redis_prefix)
    await broker.start()
    crowd = [
        PresenceEntry(user_id=1_000_000 + i, name=f"Guest {i}", node="node-far", conn_id=f"g{i}")
        for i in range(CROWD)
    ]
    for start in range(0, CROWD, 200):
        firsts = await asyncio.gather(
            *(broker.presence_add(channel, e, 300) for e in crowd[start : start + 200])
        )
        assert all(firsts)
    return broker, crowd


async def test_a_subscribe_to_a_crowded_room_gets_the_first_users_and_the_count(
    api: Api, settings: Settings
) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    channel = f"room:{room}"
    far, crowd = await seed_crowd(settings, channel)
    try:
        a = await api.ws(asha)
        reply = await a.request({"type": "subscribe", "channel": channel})
        assert reply["type"] == "subscribed"
        presence = await a.recv()
        assert presence["type"] == "presence"
        assert presence["count"] == CROWD + 1
        assert len(presence["online"]) == SNAPSHOT_LIMIT
        assert presence["online"] == [{"id": asha.id, "name": "Asha"}] + [
            {"id": e.user_id, "name": e.name} for e in crowd[: SNAPSHOT_LIMIT - 1]
        ]
        assert len(json.dumps(presence)) < MAX_SNAPSHOT_BYTES
        assert (await a.expect("join"))["user"]["id"] == asha.id

        # Ravi's first connection is a join for everyone; his second is not.
        r1 = await api.ws(ravi)
        assert (await r1.request({"type": "subscribe", "channel": channel}))["ref"]
        assert (await r1.recv())["count"] == CROWD + 2  # the presence snapshot
        assert (await a.expect("join"))["user"]["id"] == ravi.id
        r2 = await api.ws(ravi)
        assert (await r2.request({"type": "subscribe", "channel": channel}))["ref"]
        assert (await r2.recv())["count"] == CROWD + 2
        await r1.close()
        assert await far.presence_online(channel, ravi.id)  # his other connection holds
        await r2.close()
        assert (await a.expect("leave"))["user"]["id"] == ravi.id
        assert not await far.presence_online(channel, ravi.id)
        assert (await far.presence_page(channel, 1)).total == CROWD + 1
        await a.close()
    finally:
        await far.close()
