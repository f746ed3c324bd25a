"""/api/v1/users/me/links: a person's side of service links (docs/protocol.md §18)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from domain import links
from edge.errors import error_responses
from edge.services import ServicesDep
from rest.deps import AuthFirstRoute, CurrentUser, SessionDep
from rest.schemas.links import LinkCodeOut, LinkOut

router = APIRouter(prefix="/users/me", tags=["links"], route_class=AuthFirstRoute)

ServicePath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$")]


@router.post(
    "/link-codes",
    status_code=status.HTTP_201_CREATED,
    response_model=LinkCodeOut,
    responses=error_responses(401),
)
async def create_link_code(user: CurrentUser, services: ServicesDep) -> LinkCodeOut:
    """A one-time code to give a bridge (`/link CODE` in Telegram). It works once, within
    `expires_in` seconds, for any service."""
    ttl = services.settings.link_code_seconds
    return LinkCodeOut(code=await links.issue_code(services.broker, user.id, ttl), expires_in=ttl)


@router.get("/links", response_model=list[LinkOut], responses=error_responses(401))
async def list_links(user: CurrentUser, session: SessionDep) -> list[LinkOut]:
    return [
        LinkOut(service=name, external_id=link.external_id, linked_at=link.created_at)
        for name, link in await links.user_links(session, user)
    ]


@router.delete(
    "/links/{service}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 404),
)
async def unlink(
    service: ServicePath, user: CurrentUser, session: SessionDep, services: ServicesDep
) -> None:
    """Unlink at once: the service can get no more tokens for you, and every token it
    holds for you is revoked (its sockets close with 4001)."""
    await links.unlink_user(session, services.broker, user, service)
