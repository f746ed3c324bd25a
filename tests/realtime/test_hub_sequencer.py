"""The hub's ordering guarantee, at unit level, with real PostgreSQL behind it.

Per channel, durable events reach a local connection strictly in `seq` order, each exactly
once, whatever order (or whether at all) they arrive from the broker: the hub holds back
early arrivals, fills gaps from storage after a short grace period, drops duplicates, and
seams a `since` replay onto live delivery. Envelopes are injected as if Redis delivered
them (from another worker), so every arrival order can be set up deterministically
(tests/realtime/hub_world.py).
"""

from __future__ import annotations

import asyncio
import json

import pytest

from domain.events import TypingEvent, encode
from models import Membership, Room, RoomKind
from realtime.connection import CloseCode, Connection, Outgoing
from realtime.hub import Hub
from realtime.subscriptions import ChannelState
from tests.realtime.hub_world import (
    OTHER_NODE,
    WITHIN,
    World,
    deliver,
    frame_of,
    frames,
    hub,
    messages_of,
    settled,
    subscribed,
    world,
)
from tests.support import Socket, until

__all__ = ["hub", "world"]  # fixtures, re-used


async def test_subscribe_answers_with_the_stored_head(hub: Hub, world: World) -> None:
    await world.store(1, 2)
    _, reply = await subscribed(hub, world)
    assert reply == {
        "type": "subscribed",
        "ref": "r1",
        "channel": world.channel,
        "head": 2,
        "recovered": True,
    }


async def test_in_order_events_are_delivered_immediately_in_order(hub: Hub, world: World) -> None:
    conn, _ = await subscribed(hub, world)
    events = await world.store(1, 2, 3)
    for seq in (1, 2, 3):
        deliver(hub, events[seq])
    assert conn.pending() == 3  # no waiting, no storage round trip
    assert await messages_of(conn, 3) == frames(events, 1, 2, 3)
    await settled(hub, world.channel)
    assert conn.pending() == 0


async def test_an_early_event_waits_for_the_one_before_it(hub: Hub, world: World) -> None:
    conn, _ = await subscribed(hub, world)
    events = await world.store(1, 2, 3)
    deliver(hub, events[1])
    deliver(hub, events[3])
    assert await messages_of(conn, 1) == frames(events, 1)
    assert conn.pending() == 0  # 3 is held back
    deliver(hub, events[2])
    assert conn.pending() == 2
    assert await messages_of(conn, 2) == frames(events, 2, 3)
    await settled(hub, world.channel)
    assert conn.pending() == 0  # the gap fill found nothing left to do


async def test_events_arriving_in_reverse_are_delivered_in_order(hub: Hub, world: World) -> None:
    conn, _ = await subscribed(hub, world)
    events = await world.store(1, 2, 3, 4)
    for seq in (4, 3, 2):
        deliver(hub, events[seq])
    assert conn.pending() == 0
    deliver(hub, events[1])
    assert await messages_of(conn, 4) == frames(events, 1, 2, 3, 4)
    await settled(hub, world.channel)
    assert conn.pending() == 0


async def test_a_lost_event_is_filled_from_postgresql(hub: Hub, world: World) -> None:
    """Seq 2 was stored but its publish was lost: after the grace period it comes from storage."""
    conn, _ = await subscribed(hub, world)
    events = await world.store(1, 2, 3)
    deliver(hub, events[1])
    deliver(hub, events[3])
    assert await messages_of(conn, 1) == frames(events, 1)
    assert [await frame_of(conn), await frame_of(conn)] == frames(events, 2, 3)
    await settled(hub, world.channel)
    assert conn.pending() == 0


async def test_several_lost_events_are_filled_in_order(hub: Hub, world: World) -> None:
    conn, _ = await subscribed(hub, world)
    events = await world.store(*range(1, 11))
    for seq in (1, 4, 7, 10):
        deliver(hub, events[seq])
    assert await messages_of(conn, 10) == frames(events, *range(1, 11))
    await settled(hub, world.channel)
    assert conn.pending() == 0


async def test_the_first_event_lost_is_filled_too(hub: Hub, world: World) -> None:
    conn, _ = await subscribed(hub, world)
    events = await world.store(1, 2)
    deliver(hub, events[2])
    assert await messages_of(conn, 2) == frames(events, 1, 2)


async def test_duplicates_are_dropped(hub: Hub, world: World) -> None:
    conn, _ = await subscribed(hub, world)
    events = await world.store(1, 2, 3)
    deliver(hub, events[1])
    deliver(hub, events[2])
    deliver(hub, events[1])
    deliver(hub, events[2])
    assert await messages_of(conn, 2) == frames(events, 1, 2)
    assert conn.pending() == 0
    # A duplicate of a held-back event is held once.
    deliver(hub, events[3])
    deliver(hub, events[3])
    assert await messages_of(conn, 1) == frames(events, 3)
    await settled(hub, world.channel)
    assert conn.pending() == 0


async def test_events_already_in_storage_at_subscribe_time_are_not_delivered_live(
    hub: Hub, world: World
) -> None:
    """Without `since` only live events follow: re-publishes of seqs <= head are dropped."""
    events = await world.store(1, 2)
    conn, reply = await subscribed(hub, world)
    assert reply["head"] == 2
    deliver(hub, events[1])
    deliver(hub, events[2])
    assert conn.pending() == 0
    (later,) = (await world.store(3)).values()
    deliver(hub, later)
    assert await messages_of(conn, 1) == [later.model_dump_json()]


async def test_subscribe_with_since_replays_then_goes_live_without_duplicates(
    hub: Hub, world: World
) -> None:
    events = await world.store(1, 2, 3, 4, 5)
    # Seq 6 commits right after the subscriber read the head (5): it can only come live.
    events |= await world.store(6, bump_head=False)
    conn = Connection(world.ref, limit=1000)
    hub.register(conn)
    subscribing = asyncio.create_task(hub.subscribe(conn, world.channel, 2, "r1"))
    # Once `subscribed` and `presence` are queued, the replay is reading storage.
    async with asyncio.timeout(WITHIN):
        while True:
            if conn.pending() >= 2 or subscribing.done():
                break
            await asyncio.sleep(0)
    sub = hub.channels[world.channel].subs[conn.id]
    assert sub.backlog is not None, "expected to arrive while the replay is in progress"
    # Live during the replay (no await since the check): two seqs it covers, and a new one.
    deliver(hub, events[3])
    deliver(hub, events[5])
    deliver(hub, events[6])
    await asyncio.wait_for(subscribing, WITHIN)
    # And after it: a replayed seq again, and the next new one.
    deliver(hub, events[4])
    events |= await world.store(7)
    deliver(hub, events[7])

    reply = json.loads(await frame_of(conn))
    assert reply == {
        "type": "subscribed",
        "ref": "r1",
        "channel": world.channel,
        "head": 5,
        "recovered": True,
    }
    assert json.loads(await frame_of(conn))["type"] == "presence"
    assert await messages_of(conn, 5) == frames(events, 3, 4, 5, 6, 7)
    await settled(hub, world.channel)
    rest = [json.loads(await frame_of(conn))["type"] for _ in range(conn.pending())]
    assert "message" not in rest, rest  # nothing replayed twice


async def test_subscribe_with_since_at_the_head_replays_nothing(hub: Hub, world: World) -> None:
    events = await world.store(1, 2)
    conn, reply = await subscribed(hub, world, since=2)
    assert reply["head"] == 2 and reply["recovered"] is True
    events |= await world.store(3)
    deliver(hub, events[3])
    assert await messages_of(conn, 1) == frames(events, 3)


async def test_subscribe_with_since_beyond_the_head_is_not_recovered(
    hub: Hub, world: World
) -> None:
    await world.store(1)
    conn, reply = await subscribed(hub, world, since=7)
    assert reply["head"] == 1 and reply["recovered"] is False
    assert json.loads(await frame_of(conn))["type"] == "join"
    assert conn.pending() == 0


async def test_check_heads_delivers_what_was_stored_but_never_published(
    hub: Hub, world: World
) -> None:
    conn, _ = await subscribed(hub, world)
    events = await world.store(1, 2)
    await hub.ordered.check_heads()
    assert conn.pending() == 2
    assert await messages_of(conn, 2) == frames(events, 1, 2)
    await hub.ordered.check_heads()  # nothing new: nothing delivered again
    deliver(hub, events[2])  # the lost publish arrives late after all
    assert conn.pending() == 0


async def test_check_heads_covers_every_subscribed_room(hub: Hub, world: World) -> None:
    async with world.sessions() as session, session.begin():
        room = Room(kind=RoomKind.study_group, name="Chemistry", owner_id=world.user.id)
        session.add(room)
        await session.flush()
        session.add(Membership(room_id=room.id, user_id=world.user.id))
        other = World(world.sessions, world.user, room.id)
    conn, _ = await subscribed(hub, world)
    conn_other, _ = await subscribed(hub, other)
    events = await world.store(1)
    other_events = await other.store(1, 2)
    await hub.ordered.check_heads()
    assert await messages_of(conn, 1) == frames(events, 1)
    assert await messages_of(conn_other, 2) == frames(other_events, 1, 2)


async def test_foreign_payloads_are_ignored_and_delivery_goes_on(hub: Hub, world: World) -> None:
    conn, _ = await subscribed(hub, world)
    for junk in (
        b"hello from someone else's app",
        b"",
        b"not json\n{}",
        b'{"o": "x"}\n{"type": "message"}',  # header without a type
        b'{"o": "x", "t": "message", "s": "two"}\n{}',
        b'{"o": "x", "t": "typing"}\n\xff\xfe not utf-8',
    ):
        hub._on_broker_message(world.channel, junk)
    assert conn.pending() == 0
    events = await world.store(1)
    deliver(hub, events[1])
    typing = TypingEvent(channel=world.channel, user=world.ref)
    hub._on_broker_message(world.channel, encode(typing, OTHER_NODE))
    assert [await frame_of(conn), await frame_of(conn)] == [
        events[1].model_dump_json(),
        typing.model_dump_json(),
    ]


async def test_events_of_a_channel_nobody_here_subscribes_are_ignored(
    hub: Hub, world: World
) -> None:
    conn, _ = await subscribed(hub, world)
    events = await world.store(1)
    hub._on_broker_message("room:999999999", encode(events[1], OTHER_NODE))
    assert conn.pending() == 0
    assert "room:999999999" not in hub.channels


async def test_an_event_storage_does_not_have_does_not_keep_the_hub_querying_storage(
    hub: Hub, world: World
) -> None:
    """A held-back seq beyond the stored head is not genuine (events are published after
    commit): anything can publish on a Redis channel. Filling the gap below it must stop
    once storage has nothing more, not query PostgreSQL in a loop until a real event with
    that seq happens to arrive; and the forged frame is never delivered.
    """
    conn, _ = await subscribed(hub, world)
    events = await world.store(1)
    deliver(hub, events[1])
    assert await messages_of(conn, 1) == frames(events, 1)
    loads = 0
    load = hub.ordered.load

    async def counting_load(ch: ChannelState, after: int, upto: int) -> list[tuple[int, Outgoing]]:
        nonlocal loads
        loads += 1
        return await load(ch, after, upto)

    hub.ordered.load = counting_load  # type: ignore[method-assign]
    forged = events[1].model_copy(update={"seq": 50, "body": "forged"})
    deliver(hub, forged)
    try:
        await settled(hub, world.channel)
    except TimeoutError:
        pytest.fail(f"the gap fill was still running after {WITHIN}s and {loads} storage loads")
    assert loads <= 3, f"{loads} storage loads for one gap"
    events |= await world.store(2)
    deliver(hub, events[2])
    assert await messages_of(conn, 1) == frames(events, 2)
    await settled(hub, world.channel)
    assert conn.pending() == 0


async def test_replay_and_live_reach_a_direct_write_socket_in_order_through_its_pauses(
    hub: Hub, world: World
) -> None:
    """The direct write path (frames straight to a writable socket) with a socket that backs
    up during the replay: replayed and live frames still arrive once each, in seq order."""
    events = await world.store(1, 2, 3, 4, 5)
    events |= await world.store(6, bump_head=False)
    conn = Connection(world.ref, limit=1000)
    socket = Socket()
    conn.sink = socket
    hub.register(conn)
    pump = asyncio.create_task(conn.pump(socket))
    socket.pause()
    subscribing = asyncio.create_task(hub.subscribe(conn, world.channel, 2, "r1"))
    await until(lambda: conn.pending() >= 2 or subscribing.done())
    assert hub.channels[world.channel].subs[conn.id].backlog is not None
    deliver(hub, events[3])
    deliver(hub, events[6])
    socket.resume()  # writable mid-replay: live frames must still wait for the replay
    deliver(hub, events[5])
    await asyncio.wait_for(subscribing, WITHIN)
    deliver(hub, events[4])
    socket.pause()
    events |= await world.store(7)
    deliver(hub, events[7])
    socket.resume()
    events |= await world.store(8)
    deliver(hub, events[8])
    await settled(hub, world.channel)
    await until(lambda: not conn.pending())
    texts = socket.texts()
    assert [json.loads(t)["type"] for t in texts[:2]] == ["subscribed", "presence"]
    messages = [t for t in texts if json.loads(t)["type"] == "message"]
    assert messages == frames(events, 3, 4, 5, 6, 7, 8)
    conn.close(CloseCode.normal)
    await asyncio.wait_for(pump, WITHIN)
