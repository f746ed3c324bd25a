"""The hub's live-authorization races, deterministically (real PostgreSQL behind the hub).

A revocation can reach a worker at any point of a subscribe: before its subscription is
registered (while the authorization read is in flight), during its set-up, or after. In
each case the subscription must not survive. Control messages are injected as if Redis
delivered them from another worker, at exactly the point under test.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.memory import MemoryBroker
from domain.errors import Forbidden, NotFound
from domain.events import UserRef, encode
from domain.revocations import (
    CONTROL_CHANNEL,
    ChannelRevoked,
    RevokeReason,
    TokenRevoked,
)
from models import Membership, Room, RoomKind, User
from models.db import make_sessionmaker
from realtime.connection import CloseCode, Connection
from realtime.hub import Hub
from realtime.presence import Presence


@pytest.fixture
async def hub(db: AsyncEngine) -> AsyncIterator[Hub]:
    h = Hub(MemoryBroker("this-node"), make_sessionmaker(db))
    await h.start()
    yield h
    await h.close()


@pytest.fixture
async def member(db: AsyncEngine) -> tuple[UserRef, int]:
    sessions = make_sessionmaker(db)
    async with sessions() as session, session.begin():
        user = User(email=f"ravi-{secrets.token_hex(4)}@example.com", display_name="Ravi")
        session.add(user)
        await session.flush()
        room = Room(kind=RoomKind.study_group, name="Physics", owner_id=user.id)
        session.add(room)
        await session.flush()
        session.add(Membership(room_id=room.id, user_id=user.id))
        return UserRef(id=user.id, name=user.display_name), room.id


def deliver(hub: Hub, event: ChannelRevoked | TokenRevoked) -> None:
    """As the broker's read loop would: synchronously, from another worker."""
    hub._on_broker_message(CONTROL_CHANNEL, encode(event, "other-node"))


async def drain(conn: Connection) -> list[dict[str, Any]]:
    """Every frame queued for the connection so far."""
    frames = []
    while conn.pending():
        out = await conn.next()
        assert out is not None
        frames.append(json.loads(out.text))
    return frames


async def test_a_revocation_between_authorization_and_registration_refuses_the_subscribe(
    hub: Hub, member: tuple[UserRef, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, room = member
    channel = f"room:{room}"
    conn = Connection(user, 64)
    hub.register(conn)
    authorize = hub.authorize

    async def authorized_then_revoked(user_id: int, name: str) -> Any:
        result = await authorize(user_id, name)  # still a member when read
        deliver(hub, ChannelRevoked(channel=name, user_id=user_id, reason=RevokeReason.left))
        return result

    monkeypatch.setattr(hub, "authorize", authorized_then_revoked)
    with pytest.raises(Forbidden):
        await hub.subscribe(conn, channel, None, "s1")
    assert not hub.is_subscribed(conn, channel)
    assert channel not in hub.channels  # released: nobody else holds it
    assert await drain(conn) == []  # refused before anything was sent


async def test_a_deletion_between_authorization_and_registration_is_not_found(
    hub: Hub, member: tuple[UserRef, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, room = member
    channel = f"room:{room}"
    conn = Connection(user, 64)
    hub.register(conn)
    authorize = hub.authorize

    async def authorized_then_deleted(user_id: int, name: str) -> Any:
        result = await authorize(user_id, name)
        deliver(hub, ChannelRevoked(channel=name, user_id=None, reason=RevokeReason.deleted))
        return result

    monkeypatch.setattr(hub, "authorize", authorized_then_deleted)
    with pytest.raises(NotFound):
        await hub.subscribe(conn, channel, None, "s1")
    assert not hub.is_subscribed(conn, channel)


async def test_a_revocation_during_set_up_ends_the_subscription_once_set_up(
    hub: Hub, member: tuple[UserRef, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, room = member
    channel = f"room:{room}"
    conn = Connection(user, 64)
    hub.register(conn)
    snapshot = Presence.snapshot

    async def snapshot_then_removed(self: Presence, name: str) -> Any:
        deliver(hub, ChannelRevoked(channel=name, user_id=user.id, reason=RevokeReason.removed))
        return await snapshot(self, name)

    monkeypatch.setattr(Presence, "snapshot", snapshot_then_removed)
    await hub.subscribe(conn, channel, None, "s1")
    assert not hub.is_subscribed(conn, channel)
    types = [(f["type"], f.get("reason")) for f in await drain(conn)]
    # `subscribed` first, then the end with its reason; never the other way round.
    assert types == [("subscribed", None), ("presence", None), ("unsubscribed", "removed")]


async def test_a_revocation_after_set_up_detaches_at_once(
    hub: Hub, member: tuple[UserRef, int]
) -> None:
    user, room = member
    channel = f"room:{room}"
    conn, other = Connection(user, 64), Connection(UserRef(id=user.id + 1, name="X"), 64)
    for c in (conn, other):
        hub.register(c)
    await hub.subscribe(conn, channel, None, "s1")
    await drain(conn)
    deliver(hub, ChannelRevoked(channel=channel, user_id=user.id, reason=RevokeReason.left))
    # Synchronous: nothing published after the revocation can reach the subscription.
    assert not hub.is_subscribed(conn, channel)
    assert await drain(conn) == [{"type": "unsubscribed", "channel": channel, "reason": "left"}]
    assert conn.close_code is None  # a WebSocket stays open


async def test_a_listen_only_stream_ends_with_forbidden(
    hub: Hub, member: tuple[UserRef, int]
) -> None:
    user, room = member
    channel = f"room:{room}"
    conn = Connection(user, 64, listen_only=True)
    hub.register(conn)
    await hub.subscribe(conn, channel, None, None)
    await drain(conn)
    deliver(hub, ChannelRevoked(channel=channel, user_id=None, reason=RevokeReason.deleted))
    (error,) = await drain(conn)
    assert error["type"] == "error" and error["code"] == "forbidden"
    assert error["details"] == {"channel": channel, "reason": "deleted"}
    assert conn.close_code is CloseCode.normal


async def test_a_token_revoked_before_its_connection_registers_closes_it(
    hub: Hub, member: tuple[UserRef, int]
) -> None:
    user, _ = member
    expires = datetime.now(UTC) + timedelta(minutes=5)
    deliver(hub, TokenRevoked(jti="j-1", user_id=user.id, expires_at=expires))
    late, other = Connection(user, 64, jti="j-1"), Connection(user, 64, jti="j-2")
    hub.register(late)
    hub.register(other)
    assert late.close_code is CloseCode.unauthorized
    assert [f["code"] for f in await drain(late)] == ["unauthorized"]
    assert other.close_code is None
    # A live connection of the token is closed when the revocation arrives.
    deliver(hub, TokenRevoked(jti="j-2", user_id=user.id, expires_at=expires))
    assert other.close_code is CloseCode.unauthorized


async def test_a_foreign_control_message_is_dropped(hub: Hub, member: tuple[UserRef, int]) -> None:
    user, room = member
    conn = Connection(user, 64)
    hub.register(conn)
    await hub.subscribe(conn, f"room:{room}", None, None)
    hub._on_broker_message(CONTROL_CHANNEL, b'{"o":"x","t":"channel_revoked"}\n{"nope":1}')
    hub._on_broker_message(CONTROL_CHANNEL, b"garbage")
    assert hub.is_subscribed(conn, f"room:{room}")
