"""Consultation shares: the owner of a bot conversation lets a doctor read it, or take part.

A share is a row in `consultation_shares` AND a membership with role `doctor`, written in
one transaction: every existing membership check (history, subscribe, presence, typing,
sending) then covers the doctor, and the share says whether they may write.

Revoking deletes both and, after the commit, announces on the control channel
(domain/revocations.py) that the doctor lost the room's channels: every worker ends the
doctor's WebSocket subscriptions and SSE streams at once, and REST refuses from storage.

Errors: sharing a room that is not the caller's bot conversation -> forbidden (a member
who is not the owner) or not_found; a doctor id that names nobody -> not_found; someone who
is not a doctor -> invalid; revoking a share that does not exist -> not_found.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from broker import Broker
from domain.access import require_member
from domain.errors import Forbidden, Invalid, NotFound
from domain.notifications import Kind, Notifier
from domain.revocations import ChannelRevoked, RevokeReason, announce
from domain.rooms import room_scoped_channels
from models import ConsultationShare, MemberRole, Membership, Role, Room, RoomKind, ShareMode, User


class ShareView(BaseModel):
    model_config = ConfigDict(frozen=True)

    room_id: int
    doctor_id: int
    doctor_name: str
    mode: ShareMode
    created_at: datetime


async def _owned_conversation(session: AsyncSession, room_id: int, user_id: int) -> Room:
    membership = await require_member(session, room_id, user_id)
    room = await session.get(Room, room_id)
    assert room is not None
    if membership.role is not MemberRole.owner:
        raise Forbidden(f"Only the owner of room {room_id} can manage who it is shared with.")
    if room.kind is not RoomKind.bot_conversation:
        raise Invalid("Only a bot conversation can be shared with a doctor.")
    return room


async def share(
    session: AsyncSession,
    room_id: int,
    owner_id: int,
    doctor_id: int,
    mode: ShareMode,
    *,
    notifier: Notifier | None = None,
) -> ShareView:
    """Share (or change the mode of a share). Idempotent for the same mode. A new share
    notifies the doctor (`conversation_shared`)."""
    room = await _owned_conversation(session, room_id, owner_id)
    doctor = await session.get(User, doctor_id)
    if doctor is None or not doctor.is_active:
        raise NotFound(f"User {doctor_id} does not exist.")
    if doctor.role is not Role.doctor:
        raise Invalid("A conversation can only be shared with a doctor.")
    row = await session.get(ConsultationShare, (room_id, doctor_id))
    new = row is None
    if row is None:
        row = ConsultationShare(
            room_id=room_id, doctor_id=doctor_id, patient_id=room.owner_id, mode=mode
        )
        session.add(row)
        session.add(Membership(room_id=room_id, user_id=doctor_id, role=MemberRole.doctor))
    else:
        row.mode = mode
    await session.commit()
    await session.refresh(row)
    if new and notifier is not None:
        about = await _about(session, room, mode)
        await notifier.notify([doctor_id], Kind.conversation_shared, room_id, about)
    return ShareView(
        room_id=room_id,
        doctor_id=doctor_id,
        doctor_name=doctor.display_name,
        mode=row.mode,
        created_at=row.created_at,
    )


async def list_shares(session: AsyncSession, room_id: int, owner_id: int) -> list[ShareView]:
    await _owned_conversation(session, room_id, owner_id)
    rows = await session.execute(
        select(ConsultationShare, User.display_name)
        .join(User, User.id == ConsultationShare.doctor_id)
        .where(ConsultationShare.room_id == room_id)
        .order_by(ConsultationShare.created_at)
    )
    return [
        ShareView(
            room_id=s.room_id,
            doctor_id=s.doctor_id,
            doctor_name=name,
            mode=s.mode,
            created_at=s.created_at,
        )
        for s, name in rows.all()
    ]


async def revoke(
    session: AsyncSession,
    room_id: int,
    owner_id: int,
    doctor_id: int,
    *,
    broker: Broker,
    notifier: Notifier | None = None,
) -> None:
    """End a share now: storage first, then every worker's live subscriptions (`revoked`);
    the doctor is notified (`share_revoked`)."""
    room = await _owned_conversation(session, room_id, owner_id)
    about = await _about(session, room, None)
    gone = await session.execute(
        delete(ConsultationShare)
        .where(ConsultationShare.room_id == room_id, ConsultationShare.doctor_id == doctor_id)
        .returning(ConsultationShare.doctor_id)
    )
    if gone.first() is None:
        raise NotFound(f"Room {room_id} is not shared with user {doctor_id}.")
    await session.execute(
        delete(Membership).where(Membership.room_id == room_id, Membership.user_id == doctor_id)
    )
    channels = await room_scoped_channels(session, room_id)
    await session.commit()
    for channel in channels:
        await announce(
            broker,
            ChannelRevoked(channel=channel, user_id=doctor_id, reason=RevokeReason.revoked),
        )
    if notifier is not None:
        await notifier.notify([doctor_id], Kind.share_revoked, room_id, about)


async def _about(session: AsyncSession, room: Room, mode: ShareMode | None) -> dict[str, Any]:
    """A notification's data about a share: the patient (no health data)."""
    owner = room.owner_id
    name = (await session.execute(select(User.display_name).where(User.id == owner))).scalar()
    data: dict[str, Any] = {"patient": {"id": owner, "name": name}}
    if mode is not None:
        data["mode"] = mode.value
    return data


async def first_join(session: AsyncSession, room_id: int, user_id: int) -> int | None:
    """Mark a participating doctor's first live subscription; the patient's id the first
    time, else None (also for anyone who is not a participating doctor of the room)."""
    row = (
        await session.execute(
            update(ConsultationShare)
            .where(
                ConsultationShare.room_id == room_id,
                ConsultationShare.doctor_id == user_id,
                ConsultationShare.mode == ShareMode.participate,
                ConsultationShare.joined_at.is_(None),
            )
            .values(joined_at=func.now())
            .returning(ConsultationShare.patient_id)
        )
    ).first()
    await session.commit()
    return row[0] if row is not None else None


async def mode_of(session: AsyncSession, room_id: int, doctor_id: int) -> ShareMode | None:
    row = await session.get(ConsultationShare, (room_id, doctor_id))
    return row.mode if row is not None else None


async def doctor_participates(session: AsyncSession, room_id: int) -> bool:
    """Whether a doctor takes part in the conversation now (the bot then waits to be asked)."""
    stmt = select(
        exists().where(
            ConsultationShare.room_id == room_id,
            ConsultationShare.mode == ShareMode.participate,
        )
    )
    return bool((await session.execute(stmt)).scalar())


async def shared_with(session: AsyncSession, patient_id: int, doctor_id: int) -> bool:
    """Whether the patient shares any conversation with this doctor now."""
    stmt = select(
        exists().where(
            ConsultationShare.patient_id == patient_id, ConsultationShare.doctor_id == doctor_id
        )
    )
    return bool((await session.execute(stmt)).scalar())
