"""Rooms and memberships: create, list, rename, delete, join by invite, leave, members.

Bot conversations are private: only their owner is ever a member and they have no invite.

Leaving, removing a member and deleting a room end the affected users' live subscriptions
on every worker: each announces the change (domain/revocations.py) after its commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from broker import Broker
from domain.access import require_manager, require_member
from domain.care import audit
from domain.errors import Conflict, Forbidden, NotFound
from domain.revocations import ChannelRevoked, RevokeReason, announce
from models import (
    ConsultationShare,
    MemberRole,
    Membership,
    Message,
    Phase,
    QuizSession,
    Room,
    RoomKind,
    User,
)
from models.messages import history_page


@dataclass(frozen=True, slots=True)
class RoomView:
    room: Room
    membership: Membership


def _invite_code() -> str:
    return secrets.token_urlsafe(9)


async def create_room(session: AsyncSession, owner: User, name: str, kind: RoomKind) -> RoomView:
    room = Room(
        kind=kind,
        name=name,
        owner_id=owner.id,
        invite_code=_invite_code() if kind is RoomKind.study_group else None,
    )
    session.add(room)
    await session.flush()
    membership = Membership(room_id=room.id, user_id=owner.id, role=MemberRole.owner)
    session.add(membership)
    await session.commit()
    await session.refresh(membership)
    return RoomView(room, membership)


async def list_rooms(session: AsyncSession, user_id: int) -> list[RoomView]:
    rows = await session.execute(
        select(Room, Membership)
        .join(Membership, Membership.room_id == Room.id)
        .where(Membership.user_id == user_id)
        .order_by(Room.id)
    )
    return [RoomView(room, m) for room, m in rows.all()]


async def get_room(session: AsyncSession, room_id: int, user_id: int) -> RoomView:
    membership = await require_member(session, room_id, user_id)
    room = await session.get(Room, room_id)
    assert room is not None
    return RoomView(room, membership)


async def rename_room(session: AsyncSession, room_id: int, user_id: int, name: str) -> RoomView:
    membership = await require_manager(session, room_id, user_id)
    room = await session.get(Room, room_id)
    assert room is not None
    room.name = name
    await session.commit()
    return RoomView(room, membership)


async def delete_room(session: AsyncSession, room_id: int, user_id: int, *, broker: Broker) -> None:
    """Owner only. Every member's live subscriptions to the room end (`deleted`)."""
    membership = await require_member(session, room_id, user_id)
    if membership.role is not MemberRole.owner:
        raise Forbidden(f"Only the owner can delete room {room_id}.")
    channels = await room_scoped_channels(session, room_id)
    await session.execute(delete(Room).where(Room.id == room_id))
    await session.commit()
    # Everyone, not a member list read before the delete: someone joining meanwhile is
    # covered too.
    for channel in channels:
        await announce(
            broker, ChannelRevoked(channel=channel, user_id=None, reason=RevokeReason.deleted)
        )


async def join_by_invite(session: AsyncSession, user: User, invite_code: str) -> RoomView:
    room = (
        await session.execute(select(Room).where(Room.invite_code == invite_code))
    ).scalar_one_or_none()
    if room is None:
        raise NotFound("No room has this invite code.")
    membership = await session.get(Membership, (room.id, user.id))
    if membership is None:
        membership = Membership(room_id=room.id, user_id=user.id, role=MemberRole.member)
        session.add(membership)
        await session.commit()
        await session.refresh(membership)
    return RoomView(room, membership)


async def leave_room(session: AsyncSession, room_id: int, user_id: int, *, broker: Broker) -> None:
    """The caller's live subscriptions to the room end (`left`) on every worker."""
    membership = await require_member(session, room_id, user_id)
    if membership.role is MemberRole.owner:
        raise Conflict("The owner cannot leave a room; delete it instead.")
    channels = await room_scoped_channels(session, room_id)
    await session.delete(membership)
    # A doctor leaving a shared conversation ends the share with it.
    await session.execute(
        delete(ConsultationShare).where(
            ConsultationShare.room_id == room_id, ConsultationShare.doctor_id == user_id
        )
    )
    await session.commit()
    for channel in channels:
        await announce(
            broker, ChannelRevoked(channel=channel, user_id=user_id, reason=RevokeReason.left)
        )


async def remove_member(
    session: AsyncSession, room_id: int, actor_id: int, member_id: int, *, broker: Broker
) -> None:
    """An owner or admin removes a member; the member's live subscriptions end (`removed`).

    Raises NotFound (no such room, or `member_id` is not in it) and Forbidden (the actor is
    not a member, not a manager; the target is the owner; an admin removing an admin —
    only the owner may).
    """
    actor = await require_manager(session, room_id, actor_id)
    target = await session.get(Membership, (room_id, member_id))
    if target is None:
        raise NotFound(f"User {member_id} is not a member of room {room_id}.")
    if target.role is MemberRole.owner:
        raise Forbidden("The owner cannot be removed from their room.")
    if target.role is MemberRole.admin and actor.role is not MemberRole.owner:
        raise Forbidden("Only the owner can remove an admin.")
    channels = await room_scoped_channels(session, room_id)
    await session.delete(target)
    await session.commit()
    for channel in channels:
        await announce(
            broker, ChannelRevoked(channel=channel, user_id=member_id, reason=RevokeReason.removed)
        )


async def room_scoped_channels(session: AsyncSession, room_id: int) -> list[str]:
    """Every live channel a member reads because they are in this room: the room itself,
    its all-time leaderboard, and its quiz sessions that have not ended."""
    live = await session.execute(
        select(QuizSession.id).where(
            QuizSession.room_id == room_id, QuizSession.phase != Phase.ended
        )
    )
    return [f"room:{room_id}", f"leaderboard:{room_id}", *(f"quiz:{sid}" for sid in live.scalars())]


async def list_members(
    session: AsyncSession, room_id: int, user_id: int
) -> list[tuple[Membership, User]]:
    await require_member(session, room_id, user_id)
    rows = await session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.room_id == room_id)
        .order_by(Membership.joined_at, User.id)
    )
    return list(rows.all())


@dataclass(frozen=True, slots=True)
class Page:
    messages: list[Message]
    head: int
    has_more: bool


async def read_history(
    session: AsyncSession,
    room_id: int,
    user_id: int,
    *,
    before: int | None,
    after: int | None,
    limit: int,
) -> Page:
    """Ascending by seq: after=N -> first `limit` with seq > N; before=N -> last `limit`
    with seq < N; neither -> the latest `limit`. A doctor's read of a shared conversation
    is logged for its owner first (domain/care/audit.py)."""
    membership = await require_member(session, room_id, user_id)
    if membership.role is MemberRole.doctor:
        await audit.conversation_read(session, room_id, user_id, audit.Action.history)
    head = (await session.execute(select(Room.last_seq).where(Room.id == room_id))).scalar_one()
    rows = await history_page(session, room_id, before=before, after=after, limit=limit + 1)
    has_more = len(rows) > limit
    if has_more:
        # One extra row tells whether there is more; drop it from the far end.
        rows = rows[:limit] if after is not None else rows[1:]
    return Page(list(rows), head, has_more)
