"""The channel-kind contract: each delivery mode and overflow policy, on test kinds, through
a real hub on both broker implementations (Redis and in-memory).

Test kinds are registered under names no real kind uses. Events are published through the
broker exactly as a domain module would (`encode` + `publish`), so they travel the real
pub/sub path and the hub's real per-subscriber filter.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar, Literal

import pytest
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from broker import Broker
from broker.memory import MemoryBroker
from broker.redis import RedisBroker
from domain.events import Position, UserRef, encode, encode_personal
from domain.revocations import RevokeReason
from models.db import make_sessionmaker
from realtime.channels import (
    ChannelKind,
    Delivery,
    KindContext,
    Overflow,
    StreamPosition,
    SubscribeRequest,
    register,
)
from realtime.connection import CloseCode, Connection
from realtime.hub import Hub
from tests.backing import Backing

WITHIN = 5.0
ASHA = UserRef(id=7, name="Asha")
RAVI = UserRef(id=8, name="Ravi")


class Snapshot(BaseModel):
    model_config = ConfigDict(frozen=True)
    position: ClassVar[Position | None] = "version"
    type: Literal["board"] = "board"
    channel: str
    version: int


class Delta(BaseModel):
    model_config = ConfigDict(frozen=True)
    position: ClassVar[Position | None] = "stream"
    type: Literal["delta"] = "delta"
    channel: str
    stream: str
    index: int


class Ping(BaseModel):
    model_config = ConfigDict(frozen=True)
    type: Literal["note"] = "note"
    channel: str
    text: str


async def _anyone(session: AsyncSession, user_id: int, key: int) -> None:
    return None


# What the test kinds' hooks serve: the current snapshot per key, the stream log per key.
CURRENT: dict[int, int] = {}
STREAM_LOG: dict[int, list[bytes]] = {}


async def _current(ctx: KindContext, request: SubscribeRequest) -> list[bytes]:
    version = CURRENT.get(request.key)
    if version is None:
        return []
    return [encode(Snapshot(channel=f"t_latest:{request.key}", version=version), "test")]


async def _stream_after(ctx: KindContext, request: SubscribeRequest) -> list[bytes]:
    log = STREAM_LOG.get(request.key, [])
    after = request.stream.index if request.stream is not None else -1
    return log[after + 1 :]


register(ChannelKind(name="t_ephemeral", authorize=_anyone, delivery=Delivery.ephemeral))
register(
    ChannelKind(
        name="t_latest",
        authorize=_anyone,
        delivery=Delivery.latest,
        overflow=Overflow.keep_latest,
        on_subscribe=_current,
    )
)
register(
    ChannelKind(
        name="t_indexed",
        authorize=_anyone,
        delivery=Delivery.indexed,
        overflow=Overflow.replay,
        on_subscribe=_stream_after,
        replay=_stream_after,
    )
)

# A replayable kind whose overflow replay waits for the test: (started, release) per key.
REPLAY_GATES: dict[int, tuple[asyncio.Event, asyncio.Event]] = {}


async def _gated_replay(ctx: KindContext, request: SubscribeRequest) -> list[bytes]:
    started, release = REPLAY_GATES[request.key]
    started.set()
    await release.wait()
    return await _stream_after(ctx, request)


register(
    ChannelKind(
        name="t_gated",
        authorize=_anyone,
        delivery=Delivery.indexed,
        overflow=Overflow.replay,
        on_subscribe=_stream_after,
        replay=_gated_replay,
    )
)


@pytest.fixture(params=["redis", "memory"])
async def hub(
    request: pytest.FixtureRequest, db: AsyncEngine, backing: Backing, redis_prefix: str
) -> AsyncIterator[Hub]:
    broker: Broker
    if request.param == "redis":
        prefix = f"{redis_prefix}-kinds-{secrets.token_hex(4)}"
        broker = RedisBroker(backing.redis_url, "node-a", prefix=prefix)
    else:
        broker = MemoryBroker("node-a")
    await broker.start()
    h = Hub(broker, make_sessionmaker(db))
    try:
        yield h
    finally:
        await h.close()
        await broker.close()


async def until(condition: Callable[[], bool]) -> None:
    """Poll a condition on the hub's state (it has no event to wait on) with a deadline."""
    async with asyncio.timeout(WITHIN):
        while not condition():  # noqa: ASYNC110 - state inside the hub, no event to await
            await asyncio.sleep(0.01)


def key() -> int:
    return secrets.randbelow(2**31 - 2) + 1


def connect(hub: Hub, user: UserRef = ASHA, limit: int = 100) -> Connection:
    conn = Connection(user, limit)
    hub.register(conn)
    return conn


async def frame(conn: Connection) -> dict[str, Any]:
    out = await asyncio.wait_for(conn.next(), WITHIN)
    assert out is not None, "the connection was closed"
    parsed: dict[str, Any] = json.loads(out.text)
    return parsed


async def publish(hub: Hub, event: BaseModel, to: int | None = None) -> None:
    channel = str(getattr(event, "channel", ""))
    await hub.broker.publish(channel, encode(event, "elsewhere", to=to))


async def fence(hub: Hub, conn: Connection, channel: str) -> list[dict[str, Any]]:
    """Everything delivered before a marker published now (pub/sub keeps publish order)."""
    marker = secrets.token_hex(4)
    await publish(hub, Ping(channel=channel, text=marker))
    seen = []
    while (f := await frame(conn))["type"] != "note" or f["text"] != marker:
        seen.append(f)
    return seen


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
