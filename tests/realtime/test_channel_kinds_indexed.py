"""The channel-kind contract for indexed streams (resume after an index, no duplicates, drop
then replay on overflow) and for the `close` overflow policy, through a real hub on both
broker implementations (tests/realtime/kinds_world.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from domain.events import encode
from domain.revocations import RevokeReason
from realtime.channels import StreamPosition
from realtime.connection import CloseCode
from realtime.hub import Hub
from tests.realtime.kinds_world import (
    ASHA,
    REPLAY_GATES,
    STREAM_LOG,
    WITHIN,
    Delta,
    Ping,
    connect,
    fence,
    frame,
    hub,
    key,
    publish,
    until,
)

__all__ = ["hub"]  # the fixture, re-used


# --- indexed streams ----------------------------------------------------------------------


def delta(k: int, index: int) -> bytes:
    return encode(Delta(channel=f"t_indexed:{k}", stream="s-1", index=index), "elsewhere")


async def test_a_subscriber_resumes_an_indexed_stream_after_the_index_it_holds(hub: Hub) -> None:
    k = key()
    STREAM_LOG[k] = [delta(k, i) for i in range(6)]
    conn = connect(hub)
    await hub.subscribe(
        conn, f"t_indexed:{k}", since=None, ref="s", stream=StreamPosition("s-1", 2)
    )
    await frame(conn)
    assert [(await frame(conn))["index"] for _ in range(3)] == [3, 4, 5]


async def test_live_deltas_already_replayed_are_not_delivered_twice(hub: Hub) -> None:
    k = key()
    channel = f"t_indexed:{k}"
    STREAM_LOG[k] = [delta(k, i) for i in range(3)]
    conn = connect(hub)
    await hub.subscribe(conn, channel, since=None, ref="s")
    await frame(conn)
    # The generator publishes index 2 again (it crossed the subscribe) and then 3.
    for index in (1, 2, 3):
        await hub.broker.publish(channel, delta(k, index))
    got = [f["index"] for f in await fence(hub, conn, channel) if f["type"] == "delta"]
    assert got == [0, 1, 2, 3]


async def test_an_overflowing_stream_is_dropped_then_replayed_in_order_once(hub: Hub) -> None:
    k = key()
    channel = f"t_indexed:{k}"
    STREAM_LOG[k] = []
    conn = connect(hub, limit=8)
    await hub.subscribe(conn, channel, since=None, ref="s")
    await frame(conn)
    for index in range(40):
        STREAM_LOG[k].append(delta(k, index))
        await hub.broker.publish(channel, STREAM_LOG[k][-1])
    await until(lambda: hub.channels[channel].subs[conn.id].lagging)
    assert conn.close_code is None  # replay policy: never closed for being slow
    received: list[int] = []
    async with asyncio.timeout(WITHIN):
        while len(received) < 40:
            f = await frame(conn)
            if f["type"] == "delta":
                received.append(f["index"])
    assert received == list(range(40))


async def test_access_lost_during_an_overflow_replay_ends_the_subscription(hub: Hub) -> None:
    """A revocation that arrives while an overflowing subscriber is being replayed to is
    not forgotten: the replay sends nothing more, the subscription ends with
    `unsubscribed`, and nothing of the channel follows it."""
    k = key()
    channel = f"t_gated:{k}"
    started, release = REPLAY_GATES[k] = (asyncio.Event(), asyncio.Event())
    STREAM_LOG[k] = []
    conn = connect(hub, limit=8)
    await hub.subscribe(conn, channel, since=None, ref="s")
    await frame(conn)
    for index in range(40):
        STREAM_LOG[k].append(encode(Delta(channel=channel, stream="s-1", index=index), "x"))
        await hub.broker.publish(channel, STREAM_LOG[k][-1])
    await until(lambda: hub.channels[channel].subs[conn.id].lagging)

    got: list[dict[str, Any]] = []

    async def read() -> None:
        while (out := await conn.next()) is not None:
            got.append(json.loads(out.text))

    reader = asyncio.create_task(read())
    try:
        await asyncio.wait_for(started.wait(), WITHIN)  # drained: the replay is running
        hub.revocations.revoke_channel(channel, ASHA.id, RevokeReason.removed)
        release.set()
        await until(lambda: any(f["type"] == "unsubscribed" for f in got))
        assert not hub.is_subscribed(conn, channel)
    finally:
        reader.cancel()
    types = [f["type"] for f in got]
    ended = types.index("unsubscribed")
    assert got[ended]["reason"] == "removed"
    assert "delta" not in types[ended + 1 :], "nothing of the channel after it ended"
    assert types.count("delta") < 40, "the replay sent nothing once access was lost"


async def test_a_too_slow_connection_on_a_close_policy_kind_is_closed_with_4008(hub: Hub) -> None:
    channel = f"t_ephemeral:{key()}"
    conn = connect(hub, limit=4)
    await hub.subscribe(conn, channel, since=None, ref="s")
    for i in range(10):
        await publish(hub, Ping(channel=channel, text=str(i)))
    assert await asyncio.wait_for(conn.wait_closed(), WITHIN) == CloseCode.too_slow
