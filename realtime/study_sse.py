"""Server-Sent Events for study groups: a quiz session and a group's all-time leaderboard.

Both are snapshot channels: a listener gets the current state at once (the kind's
`on_subscribe`), then live events, with `id:` set from the board version; nothing older is
replayed, so `Last-Event-ID` is only validated.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from sse_starlette import EventSourceResponse

from edge.errors import error_responses
from edge.params import IdPath
from edge.services import ServicesDep
from realtime.deps import HubDep
from realtime.sse import Resume, resume_point, sse_auth, stream_channel

router = APIRouter(tags=["streams"])


@router.get(
    "/sessions/{session_id:int}/events",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The session's events."},
        **error_responses(401, 403, 404, 422, 503),
    },
)
async def session_events(
    session_id: IdPath,
    services: ServicesDep,
    hub: HubDep,
    authorization: Annotated[str | None, Header()] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    ticket: Annotated[str | None, Query(max_length=128)] = None,
) -> EventSourceResponse:
    """`quiz:{id}` over SSE: the current state at once, then live (boards: `id:` version)."""
    auth = await sse_auth(services, authorization, ticket)
    resume_point(last_event_id, None)  # validated; a snapshot channel restarts from now
    return await stream_channel(
        services, hub, auth.user, f"quiz:{session_id}", Resume(), auth.expires_at, jti=auth.jti
    )


@router.get(
    "/rooms/{room_id:int}/leaderboard/events",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The group's board."},
        **error_responses(401, 403, 404, 422, 503),
    },
)
async def room_leaderboard_events(
    room_id: IdPath,
    services: ServicesDep,
    hub: HubDep,
    authorization: Annotated[str | None, Header()] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    ticket: Annotated[str | None, Query(max_length=128)] = None,
) -> EventSourceResponse:
    """`leaderboard:{id}` over SSE: the current board at once, then `board` (id: version)."""
    auth = await sse_auth(services, authorization, ticket)
    resume_point(last_event_id, None)  # validated; a snapshot channel restarts from now
    return await stream_channel(
        services, hub, auth.user, f"leaderboard:{room_id}", Resume(), auth.expires_at, jti=auth.jti
    )
