"""Storing chat messages: a batch of sends to one room in ONE autocommit statement.

The statement (decision 0018, amending 0001) takes the room's next k seqs and inserts the
k messages that may be stored, where k is known only inside the statement:

- `input`: every send, with whether its author is a member and whether its
  (author, client_id) was stored before (a retry);
- `ok`: the sends to store, numbered 1..k in arrival order;
- `bump`: `UPDATE rooms SET last_seq = last_seq + k ... RETURNING last_seq - k` (the base);
  the room's row lock is held until the statement commits, so seq order is commit order;
- `ins`: the k rows with seq = base + n;
- one row back per send, in input order: its seq, or why it was not stored.

Guarantees, per send, exactly as if it had been stored alone:
- stored sends get consecutive seqs in arrival order; nothing else consumes a seq (no gap);
- a retry (client_id seen) is answered with the stored message, or Conflict if that
  message is in another room;
- a non-member is refused with NotFound/Forbidden (a membership lookup, as before);
- none of these spoils the others' batch.

A batch of ONE send (the usual case when rooms are not busy) runs a simpler statement,
`_INSERT_ONE`, with the same guarantees: the room's row is bumped by one only if the author
is a member and the (author, client_id) was not stored, and the row is inserted from that
bump. It returns no row when the send was not stored; the reason is then looked up (a
retry's stored message, or the membership refusal), as for a batch. It exists for
PostgreSQL's CPU: the batch statement is planned afresh at each run (its custom plan wins
over the generic one), ~0.75 ms of backend CPU against ~0.4 ms for this one, whose generic
plan is cached on the connection (docs/benchmarks.md "PostgreSQL CPU per stored message").

A concurrent statement (another worker) may store one of the batch's client_ids after this
statement's snapshot: the unique index refuses it, the whole statement rolls back (no seq
consumed) and it runs again, and then sees that message as a retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Integer, Row, String, Text, TextClause, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from domain.access import require_member
from domain.errors import Conflict, DomainError, Forbidden
from domain.events import MessageEvent, UserRef
from models import Message
from models.messages import find_by_client_id

# How many times a batch runs again after another worker stored one of its client_ids
# first; each run sees more of them, so a second conflict is already unlikely.
_CONFLICT_RETRIES = 3

_INSERT_BATCH = text(
    """
    WITH input AS (
        SELECT t.i, t.author_id, t.body, t.client_id,
               EXISTS (SELECT 1 FROM memberships m
                       WHERE m.room_id = :room_id AND m.user_id = t.author_id) AS member,
               (t.client_id IS NOT NULL AND EXISTS (
                   SELECT 1 FROM messages x
                   WHERE x.author_id = t.author_id AND x.client_id = t.client_id)) AS seen
        FROM unnest(CAST(:author_ids AS bigint[]), CAST(:bodies AS text[]),
                    CAST(:client_ids AS varchar[]))
             WITH ORDINALITY AS t(author_id, body, client_id, i)
    ),
    ok AS (
        SELECT i, author_id, body, client_id, row_number() OVER (ORDER BY i) AS n
        FROM input WHERE member AND NOT seen
    ),
    k AS (SELECT count(*) AS k FROM ok),
    bump AS (
        UPDATE rooms SET last_seq = rooms.last_seq + k.k FROM k
        WHERE rooms.id = :room_id AND k.k > 0
        RETURNING rooms.last_seq - k.k AS base
    ),
    ins AS (
        INSERT INTO messages (room_id, seq, author_id, body, client_id)
        SELECT :room_id, bump.base + ok.n, ok.author_id, ok.body, ok.client_id
        FROM ok CROSS JOIN bump
        RETURNING id, seq, created_at
    )
    SELECT input.i, input.member, input.seen, ins.id, ins.seq, ins.created_at
    FROM input
    LEFT JOIN ok ON ok.i = input.i
    LEFT JOIN bump ON TRUE
    LEFT JOIN ins ON ins.seq = bump.base + ok.n
    ORDER BY input.i
    """
).bindparams(
    bindparam("room_id", type_=Integer),
    bindparam("author_ids", type_=ARRAY(BigInteger)),
    bindparam("bodies", type_=ARRAY(Text)),
    bindparam("client_ids", type_=ARRAY(String)),
)

# One send: decision 0001's statement plus the retry check, so a retry consumes no seq.
_INSERT_ONE = text(
    """
    WITH bump AS (
        UPDATE rooms SET last_seq = last_seq + 1
        WHERE id = :room_id
          AND EXISTS (SELECT 1 FROM memberships m
                      WHERE m.room_id = :room_id AND m.user_id = :author_id)
          AND NOT EXISTS (SELECT 1 FROM messages x
                          WHERE x.author_id = :author_id AND x.client_id = :client_id)
        RETURNING last_seq
    )
    INSERT INTO messages (room_id, seq, author_id, body, client_id)
    SELECT :room_id, bump.last_seq, :author_id, :body, :client_id FROM bump
    RETURNING id, seq, created_at
    """
).bindparams(
    bindparam("room_id", type_=Integer),
    bindparam("author_id", type_=Integer),
    bindparam("body", type_=Text),
    bindparam("client_id", type_=String),
)


@dataclass(frozen=True, slots=True)
class Send:
    """One validated send (body already checked and stripped)."""

    author: UserRef
    client_id: str | None
    body: str


@dataclass(frozen=True, slots=True)
class Posted:
    event: MessageEvent
    created: bool  # False: a retry of an earlier send, answered with the first seq


# What a send came to: stored (or found stored), or the domain error it is refused with.
Outcome = Posted | DomainError


def room_channel(room_id: int) -> str:
    return f"room:{room_id}"


def user_message_event(message: Message, author: UserRef) -> MessageEvent:
    """The event of a message a user sent (the bot's answers have their own)."""
    return MessageEvent(
        channel=room_channel(message.room_id),
        seq=message.seq,
        id=message.id,
        author=author,
        body=message.body,
        client_id=message.client_id,
        created_at=message.created_at,
    )


async def store_batch(
    sessions: async_sessionmaker[AsyncSession], room_id: int, sends: Sequence[Send]
) -> list[Outcome]:
    """Store `sends` into one room in one statement; one outcome per send, in order.

    Two sends in one batch must not share (author, client_id) (the caller keeps them in
    separate batches). Raises only what the database raises (an outage, a refused value):
    then nothing of the batch was stored.
    """
    if len(sends) == 1:
        return [await _store_one(sessions, room_id, sends[0])]
    params = {
        "room_id": room_id,
        "author_ids": [s.author.id for s in sends],
        "bodies": [s.body for s in sends],
        "client_ids": [s.client_id for s in sends],
    }
    async with sessions() as session:
        conn = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        rows = await _run(conn, _INSERT_BATCH, params)
        outcomes: list[Outcome] = []
        for send, row in zip(sends, rows, strict=True):
            if row.seq is not None:
                outcomes.append(_posted(room_id, send, row))
            else:
                outcomes.append(await _not_stored(session, room_id, send, seen=row.seen))
        return outcomes


async def _store_one(
    sessions: async_sessionmaker[AsyncSession], room_id: int, send: Send
) -> Outcome:
    params = {
        "room_id": room_id,
        "author_id": send.author.id,
        "body": send.body,
        "client_id": send.client_id,
    }
    async with sessions() as session:
        conn = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        rows = await _run(conn, _INSERT_ONE, params)
        if rows:
            return _posted(room_id, send, rows[0])
        # Not stored: a retry (looked up by client_id) or not a member.
        return await _not_stored(session, room_id, send, seen=send.client_id is not None)


async def _run(
    conn: AsyncConnection, statement: TextClause, params: dict[str, Any]
) -> list[Row[Any]]:
    for attempt in range(_CONFLICT_RETRIES + 1):
        try:
            return list((await conn.execute(statement, params)).all())
        except IntegrityError:
            # Another worker stored one of these client_ids after this statement's
            # snapshot; it rolled back whole (no seq consumed) and the next run sees it.
            if attempt == _CONFLICT_RETRIES:
                raise
    raise AssertionError("unreachable")


def _posted(room_id: int, send: Send, row: Row[Any]) -> Posted:
    message = Message(
        id=row.id,
        room_id=room_id,
        seq=row.seq,
        author_id=send.author.id,
        body=send.body,
        client_id=send.client_id,
        created_at=row.created_at,
    )
    return Posted(user_message_event(message, send.author), created=True)


async def _not_stored(session: AsyncSession, room_id: int, send: Send, *, seen: bool) -> Outcome:
    """Why a send was not stored: a retry (the stored message), or the precise refusal."""
    try:
        if seen and send.client_id is not None:
            existing = await find_by_client_id(session, send.author.id, send.client_id)
            if existing is not None:
                if existing.room_id != room_id:
                    raise Conflict(
                        "This client_id was already used for a message in another room.",
                        details={"room_id": existing.room_id, "seq": existing.seq},
                    )
                return Posted(user_message_event(existing, send.author), created=False)
        await require_member(session, room_id, send.author.id)  # raises the precise error
        # A member whose room vanished between the check and the update (deleted).
        raise Forbidden(f"You are not a member of room {room_id}.")
    except DomainError as exc:
        return exc
