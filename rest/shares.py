"""/api/v1/rooms/{id}/shares: the owner shares a bot conversation with a doctor."""

from __future__ import annotations

from fastapi import APIRouter, status

from domain.care import shares
from domain.care.shares import ShareView
from edge.errors import error_responses
from edge.params import IdPath
from edge.services import ServicesDep
from models import ShareMode
from rest.deps import AuthFirstRoute, CurrentUser, SessionDep
from rest.schemas.care import ShareIn

router = APIRouter(
    prefix="/rooms/{room_id:int}/shares", tags=["consultations"], route_class=AuthFirstRoute
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ShareView,
    responses=error_responses(400, 401, 403, 404),
)
async def share(
    room_id: IdPath, body: ShareIn, user: CurrentUser, session: SessionDep, services: ServicesDep
) -> ShareView:
    """Share (or change the mode of a share). The doctor becomes a member with role
    `doctor`: `read` gives history and live events, `participate` also sending."""
    return await shares.share(
        session, room_id, user.id, body.doctor_id, ShareMode(body.mode), notifier=services.notifier
    )


@router.get("", response_model=list[ShareView], responses=error_responses(401, 403, 404))
async def list_shares(room_id: IdPath, user: CurrentUser, session: SessionDep) -> list[ShareView]:
    return await shares.list_shares(session, room_id, user.id)


@router.delete(
    "/{doctor_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404),
)
async def revoke(
    room_id: IdPath,
    doctor_id: IdPath,
    user: CurrentUser,
    session: SessionDep,
    services: ServicesDep,
) -> None:
    """Ends the share at once: the doctor's WebSocket subscriptions get `unsubscribed`
    (reason `revoked`) and SSE streams an `error` `forbidden`, on every worker; REST then
    answers 403."""
    await shares.revoke(
        session, room_id, user.id, doctor_id, broker=services.broker, notifier=services.notifier
    )
