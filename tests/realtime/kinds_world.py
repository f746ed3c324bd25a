"""Test channel kinds (one per delivery mode and overflow policy, under names no real kind
uses), their events, and a hub on either broker (the `hub` fixture) to run them through."""

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
from domain.events import Position, UserRef, encode
from models.db import make_sessionmaker
from realtime.channels import (
    ChannelKind,
    Delivery,
    KindContext,
    Overflow,
    SubscribeRequest,
    register,
)
from realtime.connection import Connection
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
