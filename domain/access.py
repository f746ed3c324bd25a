"""Who may see and manage a room. Every read, subscribe and send goes through here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Forbidden, NotFound
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
