"""/api/v1/rooms/{id}/streams/{stream}/cancel: stop a bot answer in flight (v1.1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from edge.errors import error_responses
from edge.params import IdPath
from edge.services import ServicesDep
from rest.deps import AuthFirstRoute, CurrentUser

router = APIRouter(prefix="/rooms/{room_id:int}/streams", tags=["bot"], route_class=AuthFirstRoute)

StreamPath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]


@router.post(
    "/{stream}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401, 403, 404, 409),
)
async def cancel_stream(
    room_id: IdPath, stream: StreamPath, user: CurrentUser, services: ServicesDep
) -> None:
    """Stop the answer: it ends with `stream_end` status `cancelled` on every connection,
    and its partial text is kept as the durable message. 409 if it has already ended."""
    await services.bot.cancel(user.id, room_id, stream)
