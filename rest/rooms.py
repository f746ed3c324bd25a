"""/api/v1/rooms: rooms, membership, read positions."""

from __future__ import annotations

from fastapi import APIRouter, status

from domain import chat, rooms
from domain.errors import Invalid
from domain.events import UserRef
from edge.errors import error_responses
from edge.params import IdPath
from edge.services import ServicesDep
from models import MemberRole, RoomKind
from rest.deps import AuthFirstRoute, CurrentUser, SessionDep
from rest.schemas.rooms import (
    JoinIn,
    MemberOut,
    ReadIn,
    ReadOut,
    RoomCreate,
    RoomOut,
    RoomUpdate,
)

router = APIRouter(prefix="/rooms", tags=["rooms"], route_class=AuthFirstRoute)
_MEMBER_ERRORS = error_responses(401, 403, 404)
DEFAULT_CONVERSATION_NAME = "Symptom check"


def room_out(view: rooms.RoomView) -> RoomOut:
    manager = view.membership.role in (MemberRole.owner, MemberRole.admin)
    return RoomOut(
        id=view.room.id,
        kind=view.room.kind.value,
        name=view.room.name,
        owner_id=view.room.owner_id,
        invite_code=view.room.invite_code if manager else None,
        head=view.room.last_seq,
        my_role=view.membership.role.value,
        last_read_seq=view.membership.last_read_seq,
        created_at=view.room.created_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RoomOut,
    responses=error_responses(400, 401),
)
async def create_room(body: RoomCreate, user: CurrentUser, session: SessionDep) -> RoomOut:
    kind = RoomKind(body.kind)
    name = body.name
    if name is None:
        if kind is not RoomKind.bot_conversation:
            raise Invalid(
                "A study group needs a name.",
                details=[{"field": "body.name", "problem": "Field required"}],
            )
        name = DEFAULT_CONVERSATION_NAME
    return room_out(await rooms.create_room(session, user, name, kind))


@router.get("", response_model=list[RoomOut], responses=error_responses(401))
async def list_my_rooms(user: CurrentUser, session: SessionDep) -> list[RoomOut]:
    return [room_out(v) for v in await rooms.list_rooms(session, user.id)]


@router.post("/join", response_model=RoomOut, responses=error_responses(400, 401, 404))
async def join_room(body: JoinIn, user: CurrentUser, session: SessionDep) -> RoomOut:
    return room_out(await rooms.join_by_invite(session, user, body.invite_code))


@router.get("/{room_id:int}", response_model=RoomOut, responses=_MEMBER_ERRORS)
async def get_room(room_id: IdPath, user: CurrentUser, session: SessionDep) -> RoomOut:
    return room_out(await rooms.get_room(session, room_id, user.id))


@router.patch(
    "/{room_id:int}", response_model=RoomOut, responses=error_responses(400, 401, 403, 404)
)
async def update_room(
    room_id: IdPath, body: RoomUpdate, user: CurrentUser, session: SessionDep
) -> RoomOut:
    return room_out(await rooms.rename_room(session, room_id, user.id, body.name))


@router.delete("/{room_id:int}", status_code=status.HTTP_204_NO_CONTENT, responses=_MEMBER_ERRORS)
async def delete_room(
    room_id: IdPath, user: CurrentUser, session: SessionDep, services: ServicesDep
) -> None:
    """Owner only. Every member's live subscriptions to the room end (`deleted`); through
    the bot service, a conversation's answer in flight is stopped and forgotten."""
    await services.bot.delete_room(session, room_id, user.id)


@router.post(
    "/{room_id:int}/leave",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404, 409),
)
async def leave_room(
    room_id: IdPath, user: CurrentUser, session: SessionDep, services: ServicesDep
) -> None:
    """The caller's live subscriptions to the room end (`left`) on every worker."""
    await rooms.leave_room(session, room_id, user.id, broker=services.broker)


@router.delete(
    "/{room_id:int}/members/{user_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404),
)
async def remove_member(
    room_id: IdPath,
    user_id: IdPath,
    user: CurrentUser,
    session: SessionDep,
    services: ServicesDep,
) -> None:
    """Owner or admin: remove a member (only the owner removes admins; nobody removes the
    owner). The member's live subscriptions to the room end (`removed`)."""
    await rooms.remove_member(session, room_id, user.id, user_id, broker=services.broker)


@router.get("/{room_id:int}/members", response_model=list[MemberOut], responses=_MEMBER_ERRORS)
async def list_members(room_id: IdPath, user: CurrentUser, session: SessionDep) -> list[MemberOut]:
    return [
        MemberOut(
            user=UserRef(id=u.id, name=u.display_name),
            role=m.role.value,
            last_read_seq=m.last_read_seq,
            joined_at=m.joined_at,
        )
        for m, u in await rooms.list_members(session, room_id, user.id)
    ]


@router.put(
    "/{room_id:int}/read", response_model=ReadOut, responses=error_responses(400, 401, 403, 404)
)
async def mark_read(
    room_id: IdPath, body: ReadIn, user: CurrentUser, session: SessionDep
) -> ReadOut:
    """Store the caller's read position (last seen seq); it never moves backwards."""
    return ReadOut(last_read_seq=await chat.mark_read(session, room_id, user.id, body.seq))
