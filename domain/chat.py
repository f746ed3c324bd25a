"""Chat: posting messages and reading them back. Shared by WebSocket, REST and bridges.

`post_message` is validate -> persist (with the room's other sends of the moment, one
statement: domain/chat_intake.py, domain/chat_store.py) -> commit -> publish. The ack a
client gets means the message is committed. Publishing happens after the commit; if it
fails (Redis down) or the worker dies in between, the message is still stored and
subscribers recover it (gap detection and the periodic head check in the hub), and a
client's retry with the same client_id re-publishes it. Nothing acked is ever lost.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker import Broker
from domain import metrics
from domain.access import member_roles, require_member
from domain.bot.events import bot_message_event
from domain.care import audit
from domain.chat_intake import MessageIntake
from domain.chat_store import Posted, Send, room_channel, user_message_event
from domain.errors import DomainError, Invalid, TooLarge
from domain.events import MessageEvent, UserRef, encode
from domain.failures import classify
from models import MemberRole, Message, Room, User
from models.messages import messages_in_range
from models.rooms import room_heads as _room_heads

log = logging.getLogger("parley.chat")

MAX_BODY_CHARS = 4000
MAX_CLIENT_ID_CHARS = 64

__all__ = ["MessageIntake", "Posted", "post_message", "publish_event", "room_channel"]


def message_event(message: Message, author: User | UserRef | None) -> MessageEvent:
    if author is None or message.author_id is None:
        return bot_message_event(message)  # a bot conversation's answer: the bot is no user
    ref = author if isinstance(author, UserRef) else UserRef(id=author.id, name=author.display_name)
    return user_message_event(message, ref)


async def post_message(
    intake: MessageIntake,
    author: UserRef,
    room_id: int,
    client_id: str | None,
    body: str,
    *,
    max_chars: int = MAX_BODY_CHARS,
) -> Posted:
    """Store a message and fan it out (with the room's other sends of the moment:
    domain/chat_intake.py, one statement per batch: domain/chat_store.py).

    Raises NotFound/Forbidden (not a member), Invalid/TooLarge (body, client_id),
    Conflict (client_id reused in another room), Unavailable (database down; nothing stored).
    """
    body = check_message(body, client_id, max_chars=max_chars)
    try:
        return await intake.submit(room_id, Send(author, client_id, body))
    except DomainError:
        raise
    except Exception as exc:
        # An outage (nothing stored) or a value the database refused; anything else is a bug.
        known = classify(exc)
        if known is None:
            raise
        raise known from exc


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
