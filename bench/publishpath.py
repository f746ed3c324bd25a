"""The publish path alone, before/after 0018, per stored message (valid on a busy machine):

    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.publishpath \\
        [--senders 100] [--rooms 20] [--messages 3000] [--rounds 3]

In this process (uvloop), against a migrated database and a Redis: --senders concurrent
senders spread over --rooms rooms, each with one send in flight at a time (as a WebSocket
connection is), send until --messages are stored. Two ways, interleaved, --rounds each:

- `before`: decision 0001 as it was: one autocommit statement per message (the CTE that
  bumps `last_seq` by one), then one Redis round trip to publish it;
- `after`: decision 0018: `MessageIntake` (a room's concurrent sends in one statement,
  the batch's events in one pipelined Redis round trip).

Reports, per stored message: this process's CPU time (user+sys, the worker's share of the
path), PostgreSQL commits of the database (`pg_stat_database.xact_commit` delta: load-
independent) and statements' mean batch size; wall-clock msg/s only as a hint (the
machine may be busy).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop
from sqlalchemy import String, Text, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker.redis import RedisBroker
from domain.chat_intake import MessageIntake
from domain.chat_store import Send, room_channel
from domain.events import MessageEvent, UserRef, encode
from models import Membership, Room, RoomKind, User
from models.db import make_engine, make_sessionmaker

# 0001's statement, as domain/chat.py ran it before 0018 (the `before` way).
_INSERT_NEXT = text(
    """
    WITH bump AS (
        UPDATE rooms SET last_seq = last_seq + 1
        WHERE id = :room_id AND EXISTS (
            SELECT 1 FROM memberships WHERE room_id = :room_id AND user_id = :author_id)
        RETURNING last_seq)
    INSERT INTO messages (room_id, seq, author_id, body, client_id)
    SELECT :room_id, last_seq, :author_id, :body, :client_id FROM bump
    RETURNING id, seq, created_at
    """
).bindparams(bindparam("client_id", type_=String), bindparam("body", type_=Text))

BODY = "x" * 200


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def commits(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        value = await session.scalar(
            text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        )
        return int(value or 0)


async def setup(
    sessions: async_sessionmaker[AsyncSession], senders: int, rooms: int
) -> list[tuple[UserRef, int]]:
    """A user per sender, `rooms` rooms; each sender a member of its room."""
    async with sessions() as session, session.begin():
        users = [
            User(email=f"pub-{secrets.token_hex(6)}@example.com", display_name=f"P{i}")
            for i in range(senders)
        ]
        session.add_all(users)
        await session.flush()
        made = [
            Room(kind=RoomKind.study_group, name=f"bench {i}", owner_id=users[0].id)
            for i in range(rooms)
        ]
        session.add_all(made)
        await session.flush()
        pairs = []
        for i, u in enumerate(users):
            room = made[i % rooms]
            session.add(Membership(room_id=room.id, user_id=u.id))
            pairs.append((UserRef(id=u.id, name=u.display_name), room.id))
        return pairs


Sender = Callable[[UserRef, int, str], Awaitable[Any]]


def before_way(sessions: async_sessionmaker[AsyncSession], broker: RedisBroker) -> Sender:
    async def send(author: UserRef, room_id: int, client_id: str) -> Any:
        async with sessions() as session:
            conn = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            params = {"room_id": room_id, "author_id": author.id, "body": BODY,
                      "client_id": client_id}  # fmt: skip
            row = (await conn.execute(_INSERT_NEXT, params)).one()
        event = MessageEvent(
            channel=room_channel(room_id), seq=row.seq, id=row.id, author=author, body=BODY,
            client_id=client_id, created_at=row.created_at,
        )  # fmt: skip
        await broker.publish(event.channel, encode(event, broker.node), seq=event.seq)

    return send


def after_way(intake: MessageIntake) -> Sender:
    async def send(author: UserRef, room_id: int, client_id: str) -> Any:
        return await intake.submit(room_id, Send(author, client_id, BODY))

    return send


async def run(send: Sender, pairs: list[tuple[UserRef, int]], messages: int) -> tuple[float, float]:
    """Send `messages` in total; (cpu seconds, wall seconds)."""
    left = [messages]
    tag = secrets.token_hex(4)

    async def sender(author: UserRef, room_id: int, who: int) -> None:
        n = 0
        while left[0] > 0:
            left[0] -= 1
            await send(author, room_id, f"{tag}-{who}-{n}")
            n += 1

    c0, t0 = cpu(), time.monotonic()
    await asyncio.gather(*(sender(a, r, i) for i, (a, r) in enumerate(pairs)))
    return cpu() - c0, time.monotonic() - t0


async def main(args: argparse.Namespace) -> None:
    engine = make_engine(os.environ["DATABASE_URL"])
    sessions = make_sessionmaker(engine)
    broker = RedisBroker(os.environ["REDIS_URL"], "bench", prefix=f"pp-{secrets.token_hex(3)}")
    await broker.start()
    try:
        pairs = await setup(sessions, args.senders, args.rooms)
        ways: dict[str, Sender] = {
            "before": before_way(sessions, broker),
            "after": after_way(MessageIntake(sessions, broker)),
        }
        await run(ways["before"], pairs, 200)  # warm up both (prepared statements, pool)
        await run(ways["after"], pairs, 200)
        print(f"senders {args.senders}, rooms {args.rooms}, {args.messages} messages per run")
        print("way     cpu µs/msg  commits/msg  msg/s (wall, hint)")
        for _ in range(args.rounds):
            for name, way in ways.items():
                if name not in args.ways:
                    continue
                x0 = await commits(sessions)
                used, wall = await run(way, pairs, args.messages)
                x1 = await commits(sessions)
                per = (x1 - x0 - 1) / args.messages  # minus the reading's own commit
                print(
                    f"{name:7} {used / args.messages * 1e6:10.0f}  {per:11.3f}  "
                    f"{args.messages / wall:8.0f}",
                    flush=True,
                )
    finally:
        await broker.close()
        await engine.dispose()


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="bench.publishpath", description=__doc__.split("\n")[0])
    p.add_argument("--senders", type=int, default=100)
    p.add_argument("--rooms", type=int, default=20)
    p.add_argument("--messages", type=int, default=3000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--ways", default="before,after", help="which ways to measure")
    uvloop.run(main(p.parse_args()))
