"""Chat: posting messages and reading them back. Shared by WebSocket, REST and bridges.

`post_message` is authorize -> persist -> commit -> publish. The ack a client gets means
the message is committed. Publishing happens after the commit; if it fails (Redis down)
or the worker dies in between, the message is still stored and subscribers recover it
(gap detection and the periodic head check in the hub), and a client's retry with the
same client_id re-publishes it. Nothing acked is ever lost.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import String, Text, bindparam, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker import Broker
from domain import metrics
from domain.access import member_roles, require_member
from domain.bot.events import bot_message_event
from domain.care import audit
from domain.errors import Conflict, DomainError, Forbidden, Invalid, TooLarge
from domain.events import MessageEvent, UserRef, encode
from domain.failures import classify
from models import MemberRole, Message, Room, User
from models.messages import find_by_client_id, messages_in_range
from models.rooms import room_heads as _room_heads

log = logging.getLogger("parley.chat")

MAX_BODY_CHARS = 4000
MAX_CLIENT_ID_CHARS = 64


def room_channel(room_id: int) -> str:
    return f"room:{room_id}"


def message_event(message: Message, author: User | UserRef | None) -> MessageEvent:
    if author is None or message.author_id is None:
        return bot_message_event(message)  # a bot conversation's answer: the bot is no user
    ref = author if isinstance(author, UserRef) else UserRef(id=author.id, name=author.display_name)
    return MessageEvent(
        channel=room_channel(message.room_id),
        seq=message.seq,
        id=message.id,
        author=ref,
        body=message.body,
        client_id=message.client_id,
        created_at=message.created_at,
    )


@dataclass(frozen=True, slots=True)
class Posted:
    event: MessageEvent
    created: bool  # False: a retry of an earlier send, answered with the first seq


async def post_message(
    sessions: async_sessionmaker[AsyncSession],
    broker: Broker,
    author: UserRef,
    room_id: int,
    client_id: str | None,
    body: str,
    *,
    max_chars: int = MAX_BODY_CHARS,
) -> Posted:
    """Store a message (one transaction) and fan it out.

    Raises NotFound/Forbidden (not a member), Invalid/TooLarge (body, client_id),
    Conflict (client_id reused in another room), Unavailable (database down; nothing stored).
    """
    body = check_message(body, client_id, max_chars=max_chars)
    try:
        posted = await _store(sessions, author, room_id, client_id, body)
    except DomainError:
        raise
    except Exception as exc:
        # An outage (nothing stored) or a value the database refused; anything else is a bug.
        known = classify(exc)
        if known is None:
            raise
        raise known from exc
    await publish_event(broker, posted.event)
    return posted


def check_message(body: str, client_id: str | None, *, max_chars: int = MAX_BODY_CHARS) -> str:
    """The body as it would be stored (stripped). Raises Invalid / TooLarge.

    Separate so the bot can refuse a bad message before it spends a quota unit."""
    body = body.strip()
    if not body:
        raise Invalid("A message needs a non-empty body.")
    if len(body) > max_chars:
        raise TooLarge(f"A message body is limited to {max_chars} characters.")
    if "\x00" in body or (client_id is not None and "\x00" in client_id):
        raise Invalid("Text must not contain NUL characters.")  # PostgreSQL text cannot
    if client_id is not None and not (0 < len(client_id) <= MAX_CLIENT_ID_CHARS):
        raise Invalid(f"client_id must be 1 to {MAX_CLIENT_ID_CHARS} characters.")
    return body


# One statement takes the next seq and inserts the message, in autocommit: the room's row
# lock is held for a single server-side statement, not for client round trips, so seq order
# is commit order and one busy room is not throttled by network or event-loop latency.
# The membership check rides along in the UPDATE's WHERE.
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


async def _store(
    sessions: async_sessionmaker[AsyncSession],
    author: UserRef,
    room_id: int,
    client_id: str | None,
    body: str,
) -> Posted:
    async with sessions() as session:
        conn = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        params = {"room_id": room_id, "author_id": author.id, "body": body, "client_id": client_id}
        try:
            row = (await conn.execute(_INSERT_NEXT, params)).first()
        except IntegrityError:
            # The same client_id was stored before (a retry): answer with that message.
            # The failed statement rolled back whole, so no seq was consumed.
            if client_id is None:
                raise
            existing = await find_by_client_id(session, author.id, client_id)
            if existing is None:
                raise
            return _retry_of(existing, room_id, author)
        if row is None:
            await require_member(session, room_id, author.id)  # raises the precise error
            raise Forbidden(f"You are not a member of room {room_id}.")
    message = Message(
        id=row.id,
        room_id=room_id,
        seq=row.seq,
        author_id=author.id,
        body=body,
        client_id=client_id,
        created_at=row.created_at,
    )
    return Posted(message_event(message, author), created=True)


def _retry_of(existing: Message, room_id: int, author: UserRef) -> Posted:
    if existing.room_id != room_id:
        raise Conflict(
            "This client_id was already used for a message in another room.",
            details={"room_id": existing.room_id, "seq": existing.seq},
        )
    return Posted(message_event(existing, author), created=False)


async def publish_event(broker: Broker, event: MessageEvent) -> None:
    """Fan a stored message out. Failure is logged, not raised: the message is durable."""
    try:
        await broker.publish(event.channel, encode(event, broker.node), seq=event.seq)
        metrics.published(event.channel)
    except Exception as exc:  # noqa: BLE001 - any broker failure is recovered by gap-fill
        log.warning(
            "publish failed; subscribers will recover from storage",
            extra={"channel": event.channel, "seq": event.seq, "error": type(exc).__name__},
        )


# --- reading (channel kind "room") ----------------------------------------------------------


async def authorize_read(session: AsyncSession, user_id: int, room_id: int) -> MemberRole:
    """Members only; the member's role. A doctor's subscription to a shared conversation
    is logged for its owner (domain/care/audit.py) before anything is sent."""
    membership = await require_member(session, room_id, user_id)
    if membership.role is MemberRole.doctor:
        await audit.conversation_read(session, room_id, user_id, audit.Action.subscribe)
    return membership.role


async def authorize_read_many(
    session: AsyncSession, requests: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], MemberRole | DomainError]:
    """`authorize_read` for many (user id, room id) pairs at once: one membership query
    for all of them (plus the audit entry of each doctor's subscription, as one by one)."""
    roles = await member_roles(session, [(room, user) for user, room in requests])
    out: dict[tuple[int, int], MemberRole | DomainError] = {}
    for user_id, room_id in requests:
        answer = roles[(room_id, user_id)]
        if answer is MemberRole.doctor:
            await audit.conversation_read(session, room_id, user_id, audit.Action.subscribe)
        out[(user_id, room_id)] = answer
    return out


async def room_heads(session: AsyncSession, room_ids: list[int]) -> dict[int, int]:
    return await _room_heads(session, room_ids)


async def load_frames(
    session: AsyncSession, room_id: int, after: int, upto: int
) -> list[tuple[int, str]]:
    """Stored messages after < seq <= upto as ready-to-send frames (replay from PostgreSQL)."""
    rows = await messages_in_range(session, room_id, after, upto)
    return [(m.seq, message_event(m, m.author).model_dump_json()) for m in rows]


async def mark_read(session: AsyncSession, room_id: int, user_id: int, seq: int) -> int:
    """Move the member's read position forward (never back). Returns the stored position."""
    async with session.begin():
        membership = await require_member(session, room_id, user_id)
        head = (await session.execute(select(Room.last_seq).where(Room.id == room_id))).scalar_one()
        if seq < 0 or seq > head:
            raise Invalid(f"seq must be between 0 and the room's head ({head}).")
        if seq > membership.last_read_seq:
            membership.last_read_seq = seq
        return membership.last_read_seq
