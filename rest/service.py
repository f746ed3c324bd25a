"""/api/v1/service: what a bridge does with its service token (docs/protocol.md §18).

Every route requires a service token (`parley token --service NAME`); anything else is
403. The bridge acts for a person only through `POST /service/tokens`, which issues a
token only for a person linked to it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from domain import links
from edge.errors import error_responses
from edge.services import ServicesDep
from models import Role, User
from rest.deps import Auth, AuthFirstRoute, SessionDep
from rest.schemas.accounts import UserOut
from rest.schemas.links import ActAsIn, BindIn, LinkedTokenOut, LinkedUserOut, LinkIn

router = APIRouter(prefix="/service", tags=["service"], route_class=AuthFirstRoute)


async def get_service(auth: Auth) -> User:
    return links.require_service(*auth)


ServiceAccount = Annotated[User, Depends(get_service)]
ExternalPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


@router.post(
    "/users",
    response_model=LinkedUserOut,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 401, 403, 422),
)
async def bind_user(
    body: BindIn, service: ServiceAccount, session: SessionDep, response: Response
) -> LinkedUserOut:
    """Create a user bound to `external_id` (Telegram's `/start`); 200 with the same
    user if the identity is already linked."""
    user, created = await links.bind_new_user(
        session, service, body.external_id, body.display_name, Role(body.role)
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return LinkedUserOut(user=UserOut.model_validate(user), created=created)


@router.post("/links", response_model=UserOut, responses=error_responses(400, 401, 403, 404, 409))
async def link_user(
    body: LinkIn, service: ServiceAccount, session: SessionDep, services: ServicesDep
) -> UserOut:
    """Link an existing user who gave the bridge a one-time code (`/link CODE`)."""
    user = await links.link_with_code(
        session, services.broker, service, body.external_id, body.code
    )
    return UserOut.model_validate(user)


@router.delete(
    "/links/{external_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404),
)
async def unlink(
    external_id: ExternalPath, service: ServiceAccount, session: SessionDep, services: ServicesDep
) -> None:
    """Unlink at once; every token issued through the link is revoked."""
    await links.unlink_external(session, services.broker, service, external_id)


@router.post(
    "/tokens", response_model=LinkedTokenOut, responses=error_responses(400, 401, 403, 422)
)
async def act_as(
    body: ActAsIn, service: ServiceAccount, session: SessionDep, services: ServicesDep
) -> LinkedTokenOut:
    """A short-lived access token of the user linked to `external_id`; 403 if none is."""
    issued = await links.issue_user_token(
        session, services.tokens, service, body.external_id, services.settings.linked_token_minutes
    )
    return LinkedTokenOut(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        user=UserOut.model_validate(issued.user),
    )
