"""Presence in a crowded room (0027): a subscribe gets a bounded snapshot and a count, and
joins, leaves and first/last connections stay exact however many are online."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from app.settings import Settings
from broker import PresenceEntry
from broker.redis import RedisBroker
from domain.events import UserRef
from realtime.presence import SNAPSHOT_LIMIT, Presence
from realtime.presence_diff import MAX_USERS_PER_FRAME, WINDOW_SECONDS
from tests.support import NOISE, Api, WsClient

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


async def joined_or_left(ws: WsClient) -> tuple[list[int], list[int]]:
    """The ids in the next `join`, `leave` or `presence_diff`: (joined, left)."""
    frame = await ws.recv()
    while frame["type"] not in {"join", "leave", "presence_diff"}:
        assert frame["type"] in NOISE, f"unexpected {frame}"
        frame = await ws.recv()
    if frame["type"] == "join":
        return [frame["user"]["id"]], []
    if frame["type"] == "leave":
        return [], [frame["user"]["id"]]
    return [u["id"] for u in frame["joined"]], [u["id"] for u in frame["left"]]


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
        # Her own join: plain if it reached the worker before her snapshot told it the
        # room's size, otherwise in the crowded room's `presence_diff` (0033).
        assert await joined_or_left(a) == ([asha.id], [])

        # Ravi's first connection is a join for everyone; his second is not.
        r1 = await api.ws(ravi)
        assert (await r1.request({"type": "subscribe", "channel": channel}))["ref"]
        assert (await r1.recv())["count"] == CROWD + 2  # the presence snapshot
        diff = await a.expect("presence_diff")
        assert (diff["joined"], diff["left"], diff["count"]) == (
            [{"id": ravi.id, "name": "Ravi"}],
            [],
            CROWD + 2,
        )
        r2 = await api.ws(ravi)
        assert (await r2.request({"type": "subscribe", "channel": channel}))["ref"]
        assert (await r2.recv())["count"] == CROWD + 2
        await r1.close()
        assert await far.presence_online(channel, ravi.id)  # his other connection holds
        await r2.close()
        diff = await a.expect("presence_diff")
        assert (diff["joined"], diff["left"], diff["count"]) == (
            [],
            [{"id": ravi.id, "name": "Ravi"}],
            CROWD + 1,
        )
        assert not await far.presence_online(channel, ravi.id)
        assert (await far.presence_page(channel, 1)).total == CROWD + 1
        await a.close()
    finally:
        await far.close()


JOINERS = 3000
LEAVERS = 500


async def test_thousands_joining_a_crowded_room_reach_a_watcher_as_few_diffs(
    api: Api, settings: Settings
) -> None:
    """JOINERS users join (and LEAVERS of them leave again) as fast as another worker can
    announce them: the watcher gets at most one presence frame per window, and the state it
    computes from its snapshot and the diffs is the server's."""
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    channel = f"room:{room}"
    far, _ = await seed_crowd(settings, channel)
    announcer = Presence(far, 300)
    try:
        a = await api.ws(asha)
        assert (await a.request({"type": "subscribe", "channel": channel}))["type"] == (
            "subscribed"
        )
        snapshot = await a.expect("presence")
        online = {u["id"] for u in snapshot["online"]}
        count = snapshot["count"]
        assert await joined_or_left(a) == ([asha.id], [])  # her own join
        online.add(asha.id)

        guests = [
            (
                PresenceEntry(
                    user_id=2_000_000 + i, name=f"Late {i}", node="node-far", conn_id=f"l{i}"
                ),
                UserRef(id=2_000_000 + i, name=f"Late {i}"),
            )
            for i in range(JOINERS)
        ]
        started = time.monotonic()
        for start in range(0, JOINERS, 200):
            await asyncio.gather(
                *(
                    announcer.enter(channel, e, u, quiet=False)
                    for e, u in guests[start : start + 200]
                )
            )
        await asyncio.gather(
            *(announcer.exit(channel, e, u, quiet=False) for e, u in guests[:LEAVERS])
        )
        server = await far.presence_page(channel, 0)
        expected = {e.user_id for e, _ in guests[LEAVERS:]}

        frames = 0
        while not (
            expected <= online
            and count == server.total
            and online.isdisjoint(e.user_id for e, _ in guests[:LEAVERS])
        ):
            frame = await a.recv()
            if frame["type"] in {"join", "leave"}:
                pytest.fail(f"a crowded room got a per-user {frame['type']}")
            if frame["type"] != "presence_diff":
                continue
            frames += 1
            online -= {u["id"] for u in frame["left"]}
            online |= {u["id"] for u in frame["joined"]}
            count = frame["count"]
        elapsed = time.monotonic() - started

        # One diff per window at most (each flush sleeps a window first), split only past
        # MAX_USERS_PER_FRAME users, so far fewer frames than the events they carry.
        assert frames <= elapsed / WINDOW_SECONDS + 1 + (JOINERS + LEAVERS) / MAX_USERS_PER_FRAME
        assert frames < (JOINERS + LEAVERS) / 10
        assert count == CROWD + 1 + JOINERS - LEAVERS
        first_page = await far.presence_page(channel, SNAPSHOT_LIMIT)
        assert {uid for uid, _ in first_page.users} <= online
        await a.close()
    finally:
        await far.close()


DOOMED = 300


async def test_a_crashed_workers_users_leave_a_crowded_room_once_each_in_diffs(
    api: Api, settings: Settings
) -> None:
    """Entries a dead worker stopped refreshing are swept as before (0027); in a crowded
    room their `leave`s reach the watcher inside `presence_diff`s, each user exactly once,
    and the count ends at the server's."""
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    channel = f"room:{room}"
    far, _ = await seed_crowd(settings, channel)
    doomed = [
        PresenceEntry(user_id=3_000_000 + i, name=f"Gone {i}", node="node-dead", conn_id=f"d{i}")
        for i in range(DOOMED)
    ]
    try:
        # Announced online by a worker that then died: never refreshed, expiring in 1 s.
        await asyncio.gather(*(far.presence_add(channel, e, 1) for e in doomed))
        a = await api.ws(asha)
        assert (await a.request({"type": "subscribe", "channel": channel}))["type"] == (
            "subscribed"
        )
        assert (await a.expect("presence"))["count"] == CROWD + DOOMED + 1
        assert await joined_or_left(a) == ([asha.id], [])  # her own join

        gone: list[int] = []
        count = -1
        # The server sweeps every ttl/4 (5 s at the default 20 s). `count` is read at each
        # flush, so it can be ahead of the leaves still being published: wait for both.
        while count != CROWD + 1 or len(gone) < DOOMED:
            frame = await a.expect("presence_diff", within=15)
            assert frame["joined"] == []
            gone += [u["id"] for u in frame["left"]]
            count = frame["count"]
        assert sorted(gone) == [e.user_id for e in doomed]  # each exactly once
        assert (await far.presence_page(channel, 0)).total == CROWD + 1
        await a.close()
    finally:
        await far.close()


async def test_a_room_that_shrinks_to_the_snapshot_limit_gets_plain_joins_again(
    api: Api, settings: Settings
) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    channel = f"room:{room}"
    assert settings.redis_url is not None
    far = RedisBroker(settings.redis_url, "node-far", prefix=settings.redis_prefix)
    await far.start()
    announcer = Presence(far, 300)
    guests = [
        (
            PresenceEntry(user_id=4_000_000 + i, name=f"G {i}", node="node-far", conn_id=f"s{i}"),
            UserRef(id=4_000_000 + i, name=f"G {i}"),
        )
        for i in range(SNAPSHOT_LIMIT + 20)
    ]
    try:
        await asyncio.gather(*(far.presence_add(channel, e, 300) for e, _ in guests))
        a = await api.ws(asha)
        assert (await a.request({"type": "subscribe", "channel": channel}))["type"] == (
            "subscribed"
        )
        assert (await a.expect("presence"))["count"] == SNAPSHOT_LIMIT + 21
        await joined_or_left(a)  # her own join
        # 30 leave: crowded while they go, so one or more diffs; then 91 are online.
        await asyncio.gather(*(announcer.exit(channel, e, u, quiet=False) for e, u in guests[:30]))
        left: list[int] = []
        while len(left) < 30:
            left += [u["id"] for u in (await a.expect("presence_diff"))["left"]]
        assert sorted(left) == [e.user_id for e, _ in guests[:30]]
        # At or below the limit, a join is one plain `join` again, as old clients expect.
        r = await api.ws(ravi)
        assert (await r.request({"type": "subscribe", "channel": channel}))["type"] == (
            "subscribed"
        )
        assert (await a.expect("join"))["user"]["id"] == ravi.id
        await a.close()
        await r.close()
    finally:
        await far.close()
