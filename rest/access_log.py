"""/api/v1/me/access-log: who read my conversations and symptom history, and when."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from domain.care import audit
from domain.limits import INT64_MAX
from edge.errors import error_responses
from rest.deps import AuthFirstRoute, CurrentUser, SessionDep
from rest.schemas.care import AccessPage

router = APIRouter(prefix="/me", tags=["access log"], route_class=AuthFirstRoute)


@router.get("/access-log", response_model=AccessPage, responses=error_responses(401))
async def access_log(
    user: CurrentUser,
    session: SessionDep,
    before: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AccessPage:
    """Newest first. Only reads by others are listed: the owner's own reads are not."""
    items = await audit.entries(session, user.id, before=before, limit=limit)
    return AccessPage(items=items, next_before=items[-1].id if len(items) == limit else None)
