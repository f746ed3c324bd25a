"""/api/v1/notifications: the caller's notifications, and marking them read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from domain import notifications
from domain.limits import INT64_MAX
from domain.notifications import NotificationEvent, RoomUnread
from edge.errors import error_responses
from edge.services import ServicesDep
from rest.deps import AuthFirstRoute, CurrentUser, SessionDep
from rest.schemas.fields import Seq

router = APIRouter(prefix="/notifications", tags=["notifications"], route_class=AuthFirstRoute)


class Unread(BaseModel):
    total: int
    rooms: list[RoomUnread]


class NotificationPage(BaseModel):
    items: list[NotificationEvent]
    unread: Unread
    next_before: int | None = Field(description="Pass as `before` for older notifications.")


class ReadIn(BaseModel):
    seq: Seq = Field(description="Every notification with seq <= this is marked read.")


class ReadOut(BaseModel):
    marked: int
    unread: Unread


async def _unread(session: SessionDep, user_id: int) -> Unread:
    event = (await notifications.unread(session, [user_id]))[user_id]
    return Unread(total=event.total, rooms=event.rooms)


@router.get("", response_model=NotificationPage, responses=error_responses(401))
async def list_notifications(
    user: CurrentUser,
    session: SessionDep,
    unread: Annotated[bool, Query(description="Only unread ones.")] = False,
    before: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationPage:
    """Newest first."""
    items = await notifications.listing(
        session, user.id, unread_only=unread, before=before, limit=limit
    )
    return NotificationPage(
        items=items,
        unread=await _unread(session, user.id),
        next_before=items[-1].seq if len(items) == limit else None,
    )


@router.post("/read", response_model=ReadOut, responses=error_responses(400, 401))
async def mark_read(
    body: ReadIn, user: CurrentUser, session: SessionDep, services: ServicesDep
) -> ReadOut:
    """Marks every notification up to `seq` read; the `unread` counts go out live too.
    422 `invalid` beyond your latest notification."""
    marked = await notifications.mark_read(session, user.id, body.seq)
    await services.notifier.publish_unread(session, [user.id])
    return ReadOut(marked=marked, unread=await _unread(session, user.id))
