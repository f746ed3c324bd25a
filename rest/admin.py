"""Operator endpoints under /api/v1/admin (admin role only): the cluster view."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from domain import nodes
from domain.errors import Forbidden
from edge.errors import error_responses
from edge.services import ServicesDep
from models.users import Role
from rest.deps import AuthFirstRoute, CurrentUser

router = APIRouter(prefix="/admin", tags=["admin"], route_class=AuthFirstRoute)


class NodeList(BaseModel):
    nodes: list[nodes.NodeReport]
    ttl_seconds: float = Field(
        description="A node missing heartbeats this long has left the list (the presence bound)."
    )


@router.get("/nodes", responses=error_responses(401, 403, 503))
async def list_nodes(user: CurrentUser, services: ServicesDep) -> NodeList:
    """The live worker nodes and their load; a dead node leaves within `ttl_seconds`."""
    if user.role is not Role.admin:
        raise Forbidden("Only an administrator can see the cluster's nodes.")
    ttl = services.settings.presence_ttl_seconds
    return NodeList(nodes=await nodes.live_nodes(services.broker, ttl), ttl_seconds=ttl)
