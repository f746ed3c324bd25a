"""The access log: every read of a patient's conversation or symptom history by anyone but
the patient is recorded (who, what, when) in the same request, and shown to the patient.

Recorded before the data is returned, so a read that was served is always in the log (a
failed insert fails the read). What was read is named by kind and room id, never by content.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import AccessEntry, Room, User


class Resource(StrEnum):
    conversation = "conversation"
    symptoms = "symptoms"


class Action(StrEnum):
    history = "history"  # GET .../messages
    subscribe = "subscribe"  # a live subscription (WebSocket or SSE) with its replay
    read = "read"  # GET a patient's symptom history


class ActorRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    name: str


class AccessView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    actor: ActorRef
    resource: Resource
    action: Action
    room_id: int | None
    at: datetime


async def record(
    session: AsyncSession,
    owner_id: int,
    actor_id: int,
    resource: Resource,
    action: Action,
    room_id: int | None = None,
) -> None:
    """Log one read and commit it (the caller's session must have nothing else pending)."""
    session.add(
        AccessEntry(
            owner_id=owner_id,
            actor_id=actor_id,
            resource=resource.value,
            action=action.value,
            room_id=room_id,
        )
    )
    await session.commit()


async def conversation_read(
    session: AsyncSession, room_id: int, actor_id: int, action: Action
) -> None:
    """Log a read of a conversation by someone who is not its owner."""
    owner = (await session.execute(select(Room.owner_id).where(Room.id == room_id))).scalar()
    if owner is not None and owner != actor_id:
        await record(session, owner, actor_id, Resource.conversation, action, room_id)


async def entries(
    session: AsyncSession, owner_id: int, *, before: int | None, limit: int
) -> list[AccessView]:
    """The owner's log, newest first; `before` pages back by entry id."""
    stmt = (
        select(AccessEntry, User.display_name)
        .join(User, User.id == AccessEntry.actor_id)
        .where(AccessEntry.owner_id == owner_id)
    )
    if before is not None:
        stmt = stmt.where(AccessEntry.id < before)
    stmt = stmt.order_by(AccessEntry.id.desc()).limit(limit)
    return [
        AccessView(
            id=e.id,
            actor=ActorRef(id=e.actor_id, name=name),
            resource=Resource(e.resource),
            action=Action(e.action),
            room_id=e.room_id,
            at=e.at,
        )
        for e, name in (await session.execute(stmt)).all()
    ]
