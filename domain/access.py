"""Who may see and manage a room. Every read, subscribe and send goes through here."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError, Forbidden, NotFound
from models import MemberRole, Membership, Room


async def require_member(session: AsyncSession, room_id: int, user_id: int) -> Membership:
    """The caller's membership of a room.

    A room that does not exist and a room the caller is not in answer differently
    (not_found vs forbidden), as PROTOCOL.md's example shows; room ids are not secret.
    """
    row = (
        await session.execute(
            select(Room.id, Membership)
            .outerjoin(
                Membership, (Membership.room_id == Room.id) & (Membership.user_id == user_id)
            )
            .where(Room.id == room_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"Room {room_id} does not exist.")
    membership: Membership | None = row[1]
    if membership is None:
        raise Forbidden(f"You are not a member of room {room_id}.")
    return membership


async def require_manager(session: AsyncSession, room_id: int, user_id: int) -> Membership:
    """Owner or admin of the room (manages quizzes, renames, ...)."""
    membership = await require_member(session, room_id, user_id)
    if membership.role not in (MemberRole.owner, MemberRole.admin):
        raise Forbidden(f"Only the owner or an admin of room {room_id} can do that.")
    return membership


async def member_roles(
    session: AsyncSession, pairs: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], MemberRole | DomainError]:
    """`require_member` for many (room id, user id) pairs in one query: each pair's role,
    or the NotFound / Forbidden that `require_member` would raise for it."""
    rooms = sorted({room for room, _ in pairs})
    wanted = sorted(set(pairs))
    # At most one row per asked pair (primary-key probes), plus one per room nobody in
    # the batch belongs to: never the rooms' whole member lists.
    rows = await session.execute(
        select(Room.id, Membership.user_id, Membership.role)
        .outerjoin(
            Membership,
            (Membership.room_id == Room.id)
            & tuple_(Membership.room_id, Membership.user_id).in_(wanted),
        )
        .where(Room.id.in_(rooms))
    )
    found: set[int] = set()
    roles: dict[tuple[int, int], MemberRole] = {}
    for room_id, user_id, role in rows:
        found.add(room_id)
        if user_id is not None:
            roles[(room_id, user_id)] = role
    out: dict[tuple[int, int], MemberRole | DomainError] = {}
    for room_id, user_id in pairs:
        if room_id not in found:
            out[(room_id, user_id)] = NotFound(f"Room {room_id} does not exist.")
        elif (room_id, user_id) not in roles:
            out[(room_id, user_id)] = Forbidden(f"You are not a member of room {room_id}.")
        else:
            out[(room_id, user_id)] = roles[(room_id, user_id)]
    return out
