"""/api/v1/users."""

from __future__ import annotations

from fastapi import APIRouter

from edge.errors import error_responses
from rest.deps import AuthFirstRoute, CurrentUser
from rest.schemas.accounts import UserOut

router = APIRouter(prefix="/users", tags=["users"], route_class=AuthFirstRoute)


@router.get("/me", response_model=UserOut, responses=error_responses(401))
async def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)
