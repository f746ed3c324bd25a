"""PostgreSQL for the bot: grants (answers in flight) and the bot's durable messages.

Guarantees:
- `grant` succeeds for at most one unfinished answer per conversation, across workers
  (a partial unique index, models/bot.py); a second one raises Conflict.
- `finish` stores the durable answer AND marks the grant finished in ONE statement, only
  if the grant is still unfinished: whoever calls it first (the generator, a sweeper that
  saw the lease expire, a shutdown) stores the answer; every later caller gets None. So an
  answer is finalized exactly once, whatever crashes where.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    Text,
    bindparam,
    delete,
    exists,
    false,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.bot.events import StreamError, TriageInfo, UsageInfo
from domain.care.doctors import DoctorCard
from domain.errors import Conflict
from models import (
    BotStream,
    ConsultationShare,
    MemberRole,
    Membership,
    Message,
    Room,
    RoomKind,
    ShareMode,
)

SEQ_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Stored:
    id: int
    seq: int
    created_at: datetime


async def room_kind(session: AsyncSession, room_id: int) -> RoomKind | None:
    return (await session.execute(select(Room.kind).where(Room.id == room_id))).scalar()


async def room_owner(session: AsyncSession, room_id: int) -> int | None:
    return (await session.execute(select(Room.owner_id).where(Room.id == room_id))).scalar()


@dataclass(frozen=True, slots=True)
class SendState:
    """What a send in a room needs to know first, read in one statement."""

    kind: RoomKind | None  # None: no such room
    role: MemberRole | None  # None: not a member
    retry: bool  # the author already stored a message with this client_id
    current: str | None  # the answer in flight in the room, if any
    doctor_participates: bool  # a doctor takes part now (the bot then waits to be asked)


async def send_state(
    session: AsyncSession, room_id: int, author_id: int, client_id: str | None
) -> SendState:
    """The room's kind, the author's role in it (None: not a member), whether `client_id`
    was stored before, the answer in flight and whether a doctor participates: one round
    trip (a send's reads were five)."""
    role = (
        select(Membership.role)
        .where(Membership.room_id == Room.id, Membership.user_id == author_id)
        .scalar_subquery()
    )
    retry = (
        exists().where(Message.author_id == author_id, Message.client_id == client_id)
        if client_id is not None
        else false()
    )
    current = (
        select(BotStream.id)
        .where(BotStream.room_id == Room.id, BotStream.finished_at.is_(None))
        .scalar_subquery()
    )
    participates = exists().where(
        ConsultationShare.room_id == Room.id, ConsultationShare.mode == ShareMode.participate
    )
    stmt = select(Room.kind, role, retry, current, participates).where(Room.id == room_id)
    row = (await session.execute(stmt)).first()
    if row is None:
        return SendState(None, None, False, None, False)
    return SendState(row[0], row[1], bool(row[2]), row[3], bool(row[4]))


_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


async def grant(
    session: AsyncSession,
    stream_id: str,
    room_id: int,
    owner_id: int,
    node: str,
    provider: str,
) -> None:
    """Reserve the conversation for one answer. Raises Conflict if one is in flight.

    One statement on `session`, which reads in autocommit (`reading`): the send's reads and
    its grant share one pool checkout, with no BEGIN/COMMIT round trips."""
    row = {"id": stream_id, "room_id": room_id, "owner_id": owner_id, "node": node,
           "provider": provider}  # fmt: skip
    conn = await session.connection()
    try:
        await conn.execute(insert(BotStream).values(row))
    except IntegrityError:
        current = await in_flight(session, room_id)
        raise Conflict(
            "The bot is still answering in this conversation; wait for it or cancel it.",
            details={"stream": current.id if current is not None else None},
        ) from None


async def release(sessions: async_sessionmaker[AsyncSession], stream_id: str) -> None:
    """Undo a grant whose user message was never stored (refused or failed)."""
    async with sessions() as session:
        conn = await session.connection(execution_options=_AUTOCOMMIT)
        await conn.execute(
            delete(BotStream).where(BotStream.id == stream_id, BotStream.finished_at.is_(None))
        )


async def attach(session: AsyncSession, stream_id: str, seq: int) -> None:
    """The grant's user message. One statement on `session`, which is in autocommit
    (`reading`)."""
    conn = await session.connection()
    await conn.execute(update(BotStream).where(BotStream.id == stream_id).values(reply_to=seq))


async def reading(session: AsyncSession) -> None:
    """Make `session` read in autocommit: a send's reads need no snapshot across
    statements, and BEGIN/ROLLBACK would be two more round trips per send."""
    await session.connection(execution_options=_AUTOCOMMIT)


async def in_flight(session: AsyncSession, room_id: int) -> BotStream | None:
    stmt = select(BotStream).where(BotStream.room_id == room_id, BotStream.finished_at.is_(None))
    return (await session.execute(stmt)).scalar_one_or_none()


async def stream_row(session: AsyncSession, stream_id: str) -> BotStream | None:
    return await session.get(BotStream, stream_id)


async def stale(session: AsyncSession, older_than: float, limit: int = 100) -> list[BotStream]:
    """Unfinished grants started more than `older_than` seconds ago (sweep candidates)."""
    stmt = (
        select(BotStream)
        .where(
            BotStream.finished_at.is_(None),
            BotStream.started_at
            < text("now() - make_interval(secs => :age)").bindparams(age=older_than),
        )
        .order_by(BotStream.started_at)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def context(
    session: AsyncSession, room_id: int, upto: int, limit: int
) -> list[tuple[bool, str, int]]:
    """The last `limit` messages with seq <= upto, oldest first: (from the bot, body, seq)."""
    stmt = (
        select(Message.author_id, Message.body, Message.seq)
        .where(Message.room_id == room_id, Message.seq <= upto)
        .order_by(Message.seq.desc())
        .limit(limit)
    )
    rows = (await session.execute(stmt)).all()
    return [(author is None, body, seq) for author, body, seq in reversed(rows)]


_COLUMNS = "room_id, seq, author_id, body, client_id, reply_to, triage, usage, error, doctors"
_PARAMS = [
    bindparam("body", type_=Text),
    bindparam("triage", type_=JSONB),
    bindparam("usage", type_=JSONB),
    bindparam("error", type_=JSONB),
    bindparam("doctors", type_=JSONB),
]

# The grant is finished and the answer inserted by one autocommit statement: exactly once
# (the UPDATE matches only an unfinished grant) and the room row is locked for one
# statement only, like every other message insert (docs/decisions/0001).
_FINISH = text(
    f"""
    WITH done AS (
        UPDATE bot_streams SET finished_at = now(), status = :status
        WHERE id = :stream AND finished_at IS NULL
        RETURNING room_id, reply_to),
    bump AS (
        UPDATE rooms SET last_seq = last_seq + 1
        WHERE id = (SELECT room_id FROM done) RETURNING id, last_seq)
    INSERT INTO messages ({_COLUMNS})
    SELECT bump.id, bump.last_seq, NULL, :body, NULL, done.reply_to, :triage, :usage, :error,
        :doctors
    FROM bump, done
    RETURNING id, seq, created_at, reply_to
    """
).bindparams(bindparam("stream", type_=String), bindparam("status", type_=String), *_PARAMS)

_INSERT_BOT = text(
    f"""
    WITH bump AS (
        UPDATE rooms SET last_seq = last_seq + 1 WHERE id = :room_id RETURNING last_seq)
    INSERT INTO messages ({_COLUMNS})
    SELECT :room_id, last_seq, NULL, :body, NULL, :reply_to, :triage, :usage, :error,
        :doctors FROM bump
    RETURNING id, seq, created_at
    """
).bindparams(bindparam("room_id", type_=Integer), bindparam("reply_to", type_=BigInteger), *_PARAMS)


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json") if model is not None else None


def _cards(doctors: list[DoctorCard] | None) -> Any:
    return [d.model_dump(mode="json") for d in doctors] if doctors else None


async def finish(
    sessions: async_sessionmaker[AsyncSession],
    stream_id: str,
    status: str,
    body: str,
    triage: TriageInfo,
    usage: UsageInfo | None,
    error: StreamError | None,
    doctors: list[DoctorCard] | None = None,
) -> tuple[Stored, int] | None:
    """Store the answer and finish its grant; (stored, reply_to), or None if someone else
    finished it first or the conversation is gone."""
    async with sessions() as session:
        await reading(session)
        return await finish_on(session, stream_id, status, body, triage, usage, error, doctors)


async def finish_on(
    session: AsyncSession,
    stream_id: str,
    status: str,
    body: str,
    triage: TriageInfo,
    usage: UsageInfo | None,
    error: StreamError | None,
    doctors: list[DoctorCard] | None = None,
) -> tuple[Stored, int] | None:
    """`finish` on a session in autocommit (`reading`) that the caller holds anyway."""
    params = {
        "stream": stream_id,
        "status": status,
        "body": body,
        "triage": _dump(triage),
        "usage": _dump(usage),
        "error": _dump(error),
        "doctors": _cards(doctors),
    }
    row = (await (await session.connection()).execute(_FINISH, params)).first()
    if row is None:
        return None
    return Stored(row.id, row.seq, row.created_at), int(row.reply_to)


async def insert_bot_message(
    sessions: async_sessionmaker[AsyncSession],
    room_id: int,
    reply_to: int,
    body: str,
    triage: TriageInfo,
    doctors: list[DoctorCard] | None = None,
) -> Stored | None:
    """Store a bot message that was never streamed (the emergency reply)."""
    params = {
        "room_id": room_id,
        "reply_to": reply_to,
        "body": body,
        "triage": _dump(triage),
        "usage": None,
        "error": None,
        "doctors": _cards(doctors),
    }
    async with sessions() as session:
        conn = await session.connection(execution_options=_AUTOCOMMIT)
        row = (await conn.execute(_INSERT_BOT, params)).first()
    return Stored(row.id, row.seq, row.created_at) if row is not None else None
