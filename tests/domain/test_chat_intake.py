"""Group commit of chat sends (domain/chat_store.py, domain/chat_intake.py, decision 0018),
on real PostgreSQL and Redis.

A batch is one statement: every send in it gets exactly what it would get alone (a seq,
the stored message for a retry, or its own refusal), stored sends get consecutive seqs
in arrival order, and nothing else consumes a seq.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from broker.redis import RedisBroker
from domain.chat_intake import MessageIntake
from domain.chat_store import Outcome, Posted, Send, store_batch
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from domain.events import UserRef, decode
from domain.failures import classify
from models import Membership, Message, Room, RoomKind
from models.db import make_sessionmaker
from tests.backing import Backing
from tests.broker.contract import attach, eventually
from tests.rows import add_users
from tests.support import until


@dataclass
class World:
    sessions: async_sessionmaker[AsyncSession]
    room_id: int
    other_room_id: int
    members: list[UserRef]
    stranger: UserRef

    async def stored(self, room_id: int | None = None) -> list[tuple[int, str]]:
        """(seq, body) of the room's stored messages, by seq."""
        async with self.sessions() as session:
            rows = await session.execute(
                select(Message.seq, Message.body)
                .where(Message.room_id == (room_id or self.room_id))
                .order_by(Message.seq)
            )
            return [(seq, body) for seq, body in rows]

    async def head(self) -> int:
        async with self.sessions() as session:
            head = await session.scalar(select(Room.last_seq).where(Room.id == self.room_id))
            assert head is not None
            return head


@pytest.fixture
async def world(db: AsyncEngine) -> World:
    sessions = make_sessionmaker(db)
    async with sessions() as session, session.begin():
        users = await add_users(session, "Asha", "Ravi", "Meera", "Stranger")
        rooms = [
            Room(kind=RoomKind.study_group, name=name, owner_id=users[0].id)
            for name in ("Biology crew", "Physics crew")
        ]
        session.add_all(rooms)
        await session.flush()
        for room in rooms:
            session.add_all(Membership(room_id=room.id, user_id=u.id) for u in users[:3])
        refs = [UserRef(id=u.id, name=u.display_name) for u in users]
        return World(sessions, rooms[0].id, rooms[1].id, refs[:3], refs[3])


@pytest.fixture
async def broker(backing: Backing, redis_prefix: str) -> AsyncIterator[RedisBroker]:
    b = RedisBroker(backing.redis_url, "this-node", prefix=f"{redis_prefix}-{secrets.token_hex(4)}")
    await b.start()
    yield b
    await b.close()


def posted(outcome: Outcome) -> Posted:
    assert isinstance(outcome, Posted), outcome
    return outcome


async def test_a_batch_stores_the_others_around_a_retry_a_stranger_and_a_foreign_client_id(
    world: World,
) -> None:
    asha, ravi, meera = world.members
    [first] = await store_batch(world.sessions, world.room_id, [Send(asha, "a-1", "first")])
    [elsewhere] = await store_batch(
        world.sessions, world.other_room_id, [Send(meera, "m-1", "in physics")]
    )
    outcomes = await store_batch(
        world.sessions,
        world.room_id,
        [
            Send(ravi, "r-1", "one"),
            Send(asha, "a-1", "first, again"),  # a retry: answered with the stored message
            Send(world.stranger, "s-1", "let me in"),  # not a member: refused
            Send(meera, "m-1", "reused"),  # client_id already used in another room
            Send(asha, None, "two"),
            Send(ravi, "r-2", "three"),
        ],
    )
    one, retry, stranger, reused, two, three = outcomes
    assert posted(first).event.seq == 1
    assert [posted(o).event.seq for o in (one, two, three)] == [2, 3, 4]
    assert all(posted(o).created for o in (one, two, three))
    assert posted(one).event.body == "one" and posted(three).event.client_id == "r-2"
    assert posted(retry).created is False
    assert posted(retry).event == posted(first).event
    assert isinstance(stranger, Forbidden) and stranger.code.value == "forbidden"
    assert isinstance(reused, Conflict)
    assert reused.details == {"room_id": world.other_room_id, "seq": posted(elsewhere).event.seq}
    assert await world.stored() == [(1, "first"), (2, "one"), (3, "two"), (4, "three")]
    assert await world.head() == 4  # nothing refused consumed a seq


async def test_a_batch_with_nothing_to_store_consumes_no_seq(world: World) -> None:
    asha = world.members[0]
    await store_batch(world.sessions, world.room_id, [Send(asha, "a-1", "first")])
    outcomes = await store_batch(
        world.sessions,
        world.room_id,
        [Send(asha, "a-1", "again"), Send(world.stranger, None, "hello?")],
    )
    assert posted(outcomes[0]).event.seq == 1 and not posted(outcomes[0]).created
    assert isinstance(outcomes[1], Forbidden)
    assert await world.head() == 1


async def test_a_room_that_does_not_exist_is_not_found_for_every_send(world: World) -> None:
    asha, ravi, _ = world.members
    outcomes = await store_batch(
        world.sessions, 10**9, [Send(asha, None, "x"), Send(ravi, "r-9", "y")]
    )
    assert all(isinstance(o, NotFound) for o in outcomes)


async def test_a_lone_send_gets_the_same_outcomes_as_in_a_batch(world: World) -> None:
    # A batch of one runs its own one-row statement (chat_store._INSERT_ONE).
    asha, ravi, meera = world.members
    room = world.room_id

    async def alone(send: Send, room_id: int = room) -> Outcome:
        [outcome] = await store_batch(world.sessions, room_id, [send])
        return outcome

    first = await alone(Send(asha, "a-1", "first"))
    elsewhere = await alone(Send(meera, "m-1", "in physics"), world.other_room_id)
    retry = await alone(Send(asha, "a-1", "first, again"))
    stranger = await alone(Send(world.stranger, "s-1", "let me in"))
    reused = await alone(Send(meera, "m-1", "reused"))
    missing = await alone(Send(ravi, None, "x"), 10**9)
    second = await alone(Send(ravi, None, "second"))
    assert posted(first).event.seq == 1 and posted(first).created
    assert posted(retry).event == posted(first).event and posted(retry).created is False
    assert isinstance(stranger, Forbidden)
    assert isinstance(reused, Conflict)
    assert reused.details == {"room_id": world.other_room_id, "seq": posted(elsewhere).event.seq}
    assert isinstance(missing, NotFound)
    assert posted(second).event.seq == 2  # nothing refused consumed a seq
    assert await world.stored() == [(1, "first"), (2, "second")]
    assert await world.head() == 2


async def waiting_on_a_lock(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        return bool(waiting)


async def test_a_client_id_stored_by_another_worker_mid_statement_is_answered_as_a_retry(
    world: World, db: AsyncEngine
) -> None:
    """Another worker's statement holds the room and stores Asha's client_id after this
    batch's snapshot: the unique index refuses the batch whole, it runs again, and then
    Asha's send is a retry while Ravi's is stored with the next seq."""
    asha, ravi, _ = world.members
    async with db.connect() as other:
        await other.begin()
        await other.execute(
            text("UPDATE rooms SET last_seq = last_seq + 1 WHERE id = :r RETURNING last_seq"),
            {"r": world.room_id},
        )
        await other.execute(
            text(
                "INSERT INTO messages (room_id, seq, author_id, body, client_id) "
                "VALUES (:r, 1, :a, 'from the other worker', 'a-1')"
            ),
            {"r": world.room_id, "a": asha.id},
        )
        batch = asyncio.create_task(
            store_batch(
                world.sessions,
                world.room_id,
                [Send(asha, "a-1", "the same send"), Send(ravi, "r-1", "mine")],
            )
        )
        # The batch has taken its snapshot and waits for the room's row lock.
        await eventually(lambda: waiting_on_a_lock(db), within=10)
        assert not batch.done()
        await other.commit()
    retry, mine = await asyncio.wait_for(batch, 10)
    assert posted(retry).created is False and posted(retry).event.seq == 1
    assert posted(mine).event.seq == 2
    assert await world.stored() == [(1, "from the other worker"), (2, "mine")]


async def test_concurrent_sends_share_statements_and_are_published_in_seq_order(
    world: World, broker: RedisBroker
) -> None:
    sizes: list[int] = []

    async def counting(
        sessions: async_sessionmaker[AsyncSession], room_id: int, sends: Sequence[Send]
    ) -> list[Outcome]:
        sizes.append(len(sends))
        return await store_batch(sessions, room_id, sends)

    intake = MessageIntake(world.sessions, broker, store=counting)
    inbox = attach(broker)
    channel = f"room:{world.room_id}"
    await broker.subscribe(channel)
    sends = [Send(world.members[i % 3], f"c-{i}", f"body {i}") for i in range(60)]
    results = await asyncio.gather(*(intake.submit(world.room_id, s) for s in sends))
    seqs = [r.event.seq for r in results]
    assert sorted(seqs) == list(range(1, 61))
    assert sum(sizes) == 60 and len(sizes) < 60  # grouped: fewer statements than sends
    # Arrival order is seq order, and what is stored is what was acknowledged.
    assert seqs == list(range(1, 61))
    assert await world.stored() == [(r.event.seq, r.event.body) for r in results]
    await until(lambda: len(inbox.of(channel)) == 60)
    published = [decode(data)[0].seq for data in inbox.of(channel)]
    assert published == list(range(1, 61))
    assert await broker.history(channel, 0, 60) is not None


async def test_the_same_send_twice_in_a_burst_is_stored_once(
    world: World, broker: RedisBroker
) -> None:
    asha, ravi, _ = world.members
    intake = MessageIntake(world.sessions, broker)
    results = await asyncio.gather(
        intake.submit(world.room_id, Send(asha, "a-1", "hello")),
        intake.submit(world.room_id, Send(ravi, "r-1", "hi")),
        intake.submit(world.room_id, Send(asha, "a-1", "hello")),  # a retry in flight
        intake.submit(world.room_id, Send(ravi, "r-2", "there")),
    )
    first, hi, again, there = results
    assert first.created and not again.created and again.event.seq == first.event.seq
    assert sorted(r.event.seq for r in (first, hi, there)) == [1, 2, 3]
    assert await world.head() == 3


async def test_a_value_the_database_refuses_fails_only_its_own_send(
    world: World, broker: RedisBroker
) -> None:
    asha, ravi, meera = world.members
    intake = MessageIntake(world.sessions, broker)
    results = await asyncio.gather(
        intake.submit(world.room_id, Send(asha, None, "first")),
        intake.submit(world.room_id, Send(ravi, None, "fine")),
        intake.submit(world.room_id, Send(meera, None, "bad \ud800 text")),
        intake.submit(world.room_id, Send(asha, None, "also fine")),
        return_exceptions=True,
    )
    bad = results[2]
    # What post_message answers for it: `invalid` (domain/failures.py), for this send alone.
    assert isinstance(bad, Exception) and isinstance(classify(bad), Invalid)
    good = [r for i, r in enumerate(results) if i != 2]
    assert all(isinstance(r, Posted) for r in good)
    assert [body for _, body in await world.stored()] == ["first", "fine", "also fine"]
    assert [seq for seq, _ in await world.stored()] == [1, 2, 3]
