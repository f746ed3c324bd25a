"""An answer in flight is taken for dead only when its worker is: the lease is renewed by
the worker from the grant on (domain/bot/leases.py), and a sweep needs two misses in a row.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from broker.redis import RedisBroker
from domain.bot import store
from domain.bot.config import BotConfig
from domain.bot.leases import Leases
from domain.bot.runtime import Runtime
from domain.triage import DISCLAIMER
from models import BotStream
from tests.backing import Backing
from tests.bot.fake_llm import FakeLLM, Script
from tests.bot.support import bot_api, conversation, read_answer, ready
from tests.broker.contract import eventually
from tests.conftest import ApiFactory
from tests.support import Api

SYMPTOMS = "I have had an itchy red rash on my arms for two weeks"
VERDICT = "\nSPECIALTY: dermatology | URGENCY: routine"
LEASE = 0.4


async def grant_age(db: AsyncEngine, room: int) -> float | None:
    """Seconds since the room's unfinished grant was taken (None: no grant yet)."""
    async with db.connect() as conn:
        age = await conn.scalar(
            text(
                "SELECT extract(epoch FROM now() - started_at) FROM bot_streams"
                " WHERE room_id = :room AND finished_at IS NULL"
            ),
            {"room": room},
        )
    return float(age) if age is not None else None


async def test_an_answer_whose_message_waits_several_leases_to_be_stored_still_completes(
    api_with: ApiFactory, llm: FakeLLM, db: AsyncEngine
) -> None:
    llm.script = Script(pieces=["Sounds like ", "a skin matter. ", VERDICT], delay=0.05)
    fast = {"bot_lease_seconds": 1.0, "bot_sweep_seconds": 0.2}
    async with bot_api(api_with, llm, **fast) as api:
        _, room, ws = await ready(api)
        # Storing the user's message waits on the room's row, as it waits for a pooled
        # connection under load: the grant (and its lease) exist, the generation not yet.
        async with db.connect() as conn, conn.begin():
            await conn.execute(
                text("SELECT 1 FROM rooms WHERE id = :id FOR NO KEY UPDATE"), {"id": room}
            )
            ack = asyncio.create_task(ws.send_message(f"room:{room}", SYMPTOMS))

            async def granted() -> bool:
                return await grant_age(db, room) is not None

            await eventually(granted)
            await asyncio.sleep(3.0)  # three leases, fifteen sweeps: the wait under test
            assert await grant_age(db, room) is not None, "the live answer was swept"
            assert not ack.done()
        assert (await ack)["type"] == "ack"
        answer = await read_answer(ws)
        assert answer.end is not None and answer.end["status"] == "complete", answer.end
        assert answer.message is not None
        assert answer.message["body"].startswith("Sounds like a skin matter.")
        assert answer.message["body"].endswith(DISCLAIMER)
        await ws.close()


@pytest.fixture
async def runtime(db: AsyncEngine, backing: Backing, redis_prefix: str) -> AsyncIterator[Runtime]:
    broker = RedisBroker(
        backing.redis_url, "node-b", prefix=f"{redis_prefix}-{secrets.token_hex(4)}"
    )
    await broker.start()
    sessions = async_sessionmaker(db, expire_on_commit=False)
    try:
        yield Runtime(sessions, broker, BotConfig(lease=LEASE, sweep_every=0.1))
    finally:
        await broker.close()


async def granted(sessions: async_sessionmaker[AsyncSession], room: int, owner: int) -> str:
    stream_id = f"s-{secrets.token_hex(6)}"
    async with sessions() as session:
        await store.reading(session)
        await store.grant(session, stream_id, room, owner, "node-a", "offline")
    return stream_id


async def unfinished(sessions: async_sessionmaker[AsyncSession], stream_id: str) -> bool:
    async with sessions() as session:
        row = await store.stream_row(session, stream_id)
    return row is not None and row.finished_at is None


async def test_a_grant_is_taken_for_dead_only_after_two_sweeps_in_a_row_miss_its_lease(
    api: Api, db: AsyncEngine, runtime: Runtime
) -> None:
    sessions = runtime.sessions
    asha, bola, chen = await api.user("Asha"), await api.user("Bola"), await api.user("Chen")
    alive, dead, flaky = [
        await granted(sessions, await conversation(api, user), user.id)
        for user in (asha, bola, chen)
    ]
    holder, sweeper = Leases(runtime), Leases(runtime)  # worker A's view, worker B's
    holder.hold(alive)

    async def all_stale() -> bool:
        return {alive, dead, flaky} <= {r.id for r in await stale_rows(sessions)}

    await eventually(all_stale)

    await holder.refresh()
    await sweeper.sweep()  # first miss of `dead` and `flaky`
    assert all([await unfinished(sessions, s) for s in (alive, dead, flaky)])

    await holder.refresh()
    await runtime.broker.set_key(f"bot:lease:{flaky}", "node-c", LEASE)  # renewed in time
    await sweeper.sweep()  # second miss of `dead` only
    assert await unfinished(sessions, alive)
    assert not await unfinished(sessions, dead)  # released: its message was never stored
    assert await unfinished(sessions, flaky)

    await holder.refresh()
    await asyncio.sleep(LEASE + 0.1)  # past `flaky`'s renewed lease (and `alive`'s)
    await holder.refresh()
    await sweeper.sweep()  # `flaky` misses again, but a miss after a renewal is a first
    assert await unfinished(sessions, alive) and await unfinished(sessions, flaky)

    holder.drop(alive)  # its worker is gone: nobody renews it any more
    await asyncio.sleep(LEASE + 0.1)
    await sweeper.sweep()
    assert await unfinished(sessions, alive)
    await sweeper.sweep()
    assert not await unfinished(sessions, alive) and not await unfinished(sessions, flaky)


async def stale_rows(sessions: async_sessionmaker[AsyncSession]) -> list[BotStream]:
    async with sessions() as session:
        return await store.stale(session, LEASE)
