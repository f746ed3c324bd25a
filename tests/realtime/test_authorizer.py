"""Subscribes that arrive together share one membership query (0027), and each still gets
its own, fresh answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain.errors import Forbidden, NotFound
from models import MemberRole
from realtime.authorizer import Authorizer
from realtime.kinds.room import ROOM
from tests.support import Api

MISSING_ROOM = 2_000_000_000


class CountingSessions:
    """Real PostgreSQL sessions, counted as they are opened."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.make = async_sessionmaker(engine, expire_on_commit=False)
        self.opened = 0

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        self.opened += 1
        async with self.make() as session:
            yield session


async def test_concurrent_room_checks_share_one_session_and_keep_their_own_answers(
    api: Api, db: AsyncEngine
) -> None:
    asha, ravi, mina = await api.user("Asha"), await api.user("Ravi"), await api.user("Mina")
    room = await api.room(asha, ravi)
    sessions = CountingSessions(db)
    authorizer = Authorizer(sessions)
    asks = [(asha.id, room), (ravi.id, room), (mina.id, room), (asha.id, MISSING_ROOM)] * 10
    answers = await asyncio.gather(
        *(authorizer.authorize(ROOM, user, key) for user, key in asks), return_exceptions=True
    )
    for (user, key), answer in zip(asks, answers, strict=True):
        if key == MISSING_ROOM:
            assert isinstance(answer, NotFound)
        elif user == mina.id:
            assert isinstance(answer, Forbidden)
        else:
            assert answer == (MemberRole.owner if user == asha.id else MemberRole.member)
    assert sessions.opened == 1  # 40 checks, one query


async def test_a_membership_lost_between_two_subscribes_refuses_the_second(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    r = await api.ws(ravi)
    await r.subscribe(f"room:{room}")
    left = await api.http.post(f"/api/v1/rooms/{room}/leave", headers=ravi.headers)
    assert left.status_code in (200, 204), left.text
    again = await r.request({"type": "subscribe", "channel": f"room:{room}"})
    assert again["type"] == "error" and again["code"] == "forbidden"
    await r.close()


@pytest.mark.parametrize("missing", [True, False])
async def test_a_refused_subscribe_in_a_crowd_of_accepted_ones_gets_its_own_error(
    api: Api, missing: bool
) -> None:
    asha, mina = await api.user("Asha"), await api.user("Mina")
    room = await api.room(asha)
    members = [await api.ws(asha) for _ in range(5)]
    outsider = await api.ws(mina)
    channel = f"room:{MISSING_ROOM}" if missing else f"room:{room}"
    replies = await asyncio.gather(
        outsider.request({"type": "subscribe", "channel": channel}),
        *(m.request({"type": "subscribe", "channel": f"room:{room}"}) for m in members),
    )
    assert replies[0]["type"] == "error"
    assert replies[0]["code"] == ("not_found" if missing else "forbidden")
    assert [r["type"] for r in replies[1:]] == ["subscribed"] * 5
    for ws in (*members, outsider):
        await ws.close()
