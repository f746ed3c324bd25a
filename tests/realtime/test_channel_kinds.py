"""The channel-kind contract: each delivery mode and overflow policy, on test kinds, through
a real hub on both broker implementations (Redis and in-memory).

Test kinds are registered under names no real kind uses (tests/realtime/kinds_world.py).
Events are published through the broker exactly as a domain module would (`encode` +
`publish`), so they travel the real pub/sub path and the hub's real per-subscriber filter.
Indexed streams and overflow: test_channel_kinds_indexed.py.
"""

from __future__ import annotations

import secrets

from domain.events import encode_personal
from realtime.hub import Hub
from tests.realtime.kinds_world import (
    ASHA,
    CURRENT,
    RAVI,
    Ping,
    Snapshot,
    connect,
    fence,
    frame,
    hub,
    key,
    publish,
    until,
)

__all__ = ["hub"]  # the fixture, re-used


# --- ephemeral ---------------------------------------------------------------------------


async def test_an_ephemeral_channel_delivers_live_events_and_replays_nothing(hub: Hub) -> None:
    channel = f"t_ephemeral:{key()}"
    await publish(hub, Ping(channel=channel, text="before anyone listened"))
    conn = connect(hub)
    await hub.subscribe(conn, channel, since=5, ref="s")
    subscribed = await frame(conn)
    assert subscribed["type"] == "subscribed"
    assert subscribed["head"] == 0 and subscribed["recovered"] is True
    await publish(hub, Ping(channel=channel, text="live"))
    assert [f["text"] for f in await fence(hub, conn, channel)] == ["live"]


async def test_an_ephemeral_channel_without_presence_sends_no_presence_frames(hub: Hub) -> None:
    channel = f"t_ephemeral:{key()}"
    conn = connect(hub)
    await hub.subscribe(conn, channel, since=None, ref="s")
    assert (await frame(conn))["type"] == "subscribed"
    assert await fence(hub, conn, channel) == []  # no presence, join or anything else


# --- latest state --------------------------------------------------------------------------


async def test_a_new_subscriber_gets_the_current_state_at_once(hub: Hub) -> None:
    k = key()
    CURRENT[k] = 41
    conn = connect(hub)
    await hub.subscribe(conn, f"t_latest:{k}", since=None, ref="s")
    assert (await frame(conn))["type"] == "subscribed"
    assert (await frame(conn))["version"] == 41


async def test_a_snapshot_not_newer_than_the_one_held_is_never_delivered(hub: Hub) -> None:
    k = key()
    channel = f"t_latest:{k}"
    CURRENT[k] = 10
    conn = connect(hub)
    await hub.subscribe(conn, channel, since=None, ref="s")
    await frame(conn)
    assert (await frame(conn))["version"] == 10
    for version in (9, 10, 12, 11, 13):
        await publish(hub, Snapshot(channel=channel, version=version))
    versions = [f["version"] for f in await fence(hub, conn, channel)]
    # Only newer ones, in order, ending with the newest (a slow reader may skip 12: only
    # the latest snapshot is kept for it).
    assert versions in ([12, 13], [13])


async def test_a_slow_watcher_holds_only_the_latest_snapshot_and_is_never_closed(
    hub: Hub,
) -> None:
    channel = f"t_latest:{key()}"
    conn = connect(hub, limit=4)
    await hub.subscribe(conn, channel, since=None, ref="s")
    assert (await frame(conn))["type"] == "subscribed"
    for version in range(1, 301):
        await publish(hub, Snapshot(channel=channel, version=version))
    # Wait until the last one has reached the hub, without reading the connection.
    await until(lambda: hub.channels[channel].subs[conn.id].versions.get("board") == 300)
    assert conn.close_code is None
    assert conn.pending() == 1
    assert (await frame(conn))["version"] == 300


async def test_personal_events_reach_only_their_users_connections(hub: Hub) -> None:
    channel = f"t_latest:{key()}"
    asha, ravi = connect(hub, ASHA), connect(hub, RAVI)
    for conn in (asha, ravi):
        await hub.subscribe(conn, channel, since=None, ref="s")
        await frame(conn)
    await publish(hub, Ping(channel=channel, text="for asha"), to=ASHA.id)
    assert [f["text"] for f in await fence(hub, asha, channel)] == ["for asha"]
    assert "for asha" not in [f.get("text") for f in await fence(hub, ravi, channel)]


async def test_a_personal_batch_gives_each_user_only_their_own_events(hub: Hub) -> None:
    channel = f"t_latest:{key()}"
    asha, asha_too, ravi = connect(hub, ASHA), connect(hub, ASHA), connect(hub, RAVI)
    for conn in (asha, asha_too, ravi):
        await hub.subscribe(conn, channel, since=None, ref="s")
        await frame(conn)
    absent = 99  # a user with no connection here: skipped, the others still served
    batch = [
        (absent, Ping(channel=channel, text="for nobody here")),
        (ASHA.id, Ping(channel=channel, text="for asha")),
        (RAVI.id, Ping(channel=channel, text="for ravi\nwith a newline")),
    ]
    frames = [(user_id, event.model_dump_json()) for user_id, event in batch]
    await hub.broker.publish(channel, encode_personal("note", frames, "elsewhere"))
    marker = secrets.token_hex(4)
    await publish(hub, Ping(channel=channel, text=marker))  # one fence for all three
    got: dict[str, list[str]] = {}
    for name, conn in (("asha", asha), ("asha_too", asha_too), ("ravi", ravi)):
        got[name] = []
        while (text := (await frame(conn))["text"]) != marker:
            got[name].append(text)
    assert got == {
        "asha": ["for asha"],
        "asha_too": ["for asha"],
        "ravi": ["for ravi\nwith a newline"],
    }


async def test_a_malformed_personal_batch_is_dropped_and_the_channel_keeps_working(
    hub: Hub,
) -> None:
    channel = f"t_latest:{key()}"
    conn = connect(hub)
    await hub.subscribe(conn, channel, since=None, ref="s")
    await frame(conn)
    await hub.broker.publish(channel, b'{"o":"x","t":"note","u":0}\nnot a batch')
    await publish(hub, Ping(channel=channel, text="after"), to=ASHA.id)
    assert [f["text"] for f in await fence(hub, conn, channel)] == ["after"]
