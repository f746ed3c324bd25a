"""A hub on the in-process broker and a room in real PostgreSQL, for the hub's unit tests:
envelopes are injected as if Redis delivered them from another worker."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from broker.memory import MemoryBroker
from domain.chat import message_event
from domain.events import MessageEvent, UserRef, encode
from models import Membership, Message, Room, RoomKind, User
from models.db import make_sessionmaker
from realtime.connection import Connection
from realtime.hub import Hub

WITHIN = 5.0
OTHER_NODE = "other-node"


@dataclass
class World:
    """A room with one member, and a way to store messages in it as `post_message` would."""

    sessions: async_sessionmaker[AsyncSession]
    user: User
    room_id: int

    @property
    def channel(self) -> str:
        return f"room:{self.room_id}"

    @property
    def ref(self) -> UserRef:
        return UserRef(id=self.user.id, name=self.user.display_name)

    async def store(self, *seqs: int, bump_head: bool = True) -> dict[int, MessageEvent]:
        """Insert messages with these seqs (committed); move the room's head to the last."""
        base = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
        async with self.sessions() as session, session.begin():
            rows = [
                Message(
                    room_id=self.room_id,
                    seq=seq,
                    author_id=self.user.id,
                    body=f"message {seq}",
                    client_id=secrets.token_hex(8),
                    created_at=base + timedelta(seconds=seq, microseconds=123456),
                )
                for seq in seqs
            ]
            session.add_all(rows)
            await session.flush()
            if bump_head:
                await session.execute(
                    update(Room).where(Room.id == self.room_id).values(last_seq=max(seqs))
                )
        return {m.seq: message_event(m, self.user) for m in rows}


@pytest.fixture
async def world(db: AsyncEngine) -> World:
    sessions = make_sessionmaker(db)
    async with sessions() as session, session.begin():
        user = User(email=f"asha-{secrets.token_hex(4)}@example.com", display_name="Asha")
        session.add(user)
        await session.flush()
        room = Room(kind=RoomKind.study_group, name="Biology crew", owner_id=user.id)
        session.add(room)
        await session.flush()
        session.add(Membership(room_id=room.id, user_id=user.id))
        room_id = room.id
    return World(sessions, user, room_id)


@pytest.fixture
async def hub(db: AsyncEngine) -> AsyncIterator[Hub]:
    h = Hub(MemoryBroker("this-node"), make_sessionmaker(db))
    yield h
    await h.close()


def deliver(hub: Hub, event: MessageEvent) -> None:
    """The broker hands the hub an envelope published by another worker."""
    hub._on_broker_message(event.channel, encode(event, OTHER_NODE))


async def frame_of(conn: Connection, within: float = WITHIN) -> str:
    frame = await asyncio.wait_for(conn.next(), within)
    assert frame is not None, "the connection was closed"
    return frame.text


async def messages_of(conn: Connection, count: int, within: float = WITHIN) -> list[str]:
    """The next `count` message frames (join/leave/presence/typing skipped)."""
    out: list[str] = []
    async with asyncio.timeout(within):
        while len(out) < count:
            frame = await frame_of(conn, within)
            if json.loads(frame)["type"] == "message":
                out.append(frame)
    return out


def frames(events: dict[int, MessageEvent], *seqs: int) -> list[str]:
    return [events[s].model_dump_json() for s in seqs]


async def settled(hub: Hub, channel: str) -> None:
    """Wait until no gap fill is running for the channel (its outcome is then final)."""
    async with asyncio.timeout(WITHIN):
        while (ch := hub.channels.get(channel)) is not None and ch.filler is not None:
            await asyncio.wait({ch.filler})


async def subscribed(
    hub: Hub, world: World, since: int | None = None
) -> tuple[Connection, dict[str, Any]]:
    """A registered connection subscribed to the room, with the preamble frames read."""
    conn = Connection(world.ref, limit=1000)
    hub.register(conn)
    await hub.subscribe(conn, world.channel, since, "r1")
    reply = json.loads(await frame_of(conn))
    assert reply["type"] == "subscribed", reply
    presence = json.loads(await frame_of(conn))
    assert presence == {
        "type": "presence",
        "channel": world.channel,
        "online": [{"id": world.user.id, "name": "Asha"}],
        "count": 1,
    }
    if since is None:
        join = json.loads(await frame_of(conn))
        assert join["type"] == "join", join
        assert conn.pending() == 0
    return conn, reply
