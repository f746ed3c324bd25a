"""Server-Sent Events for study groups: a quiz session and a group's all-time leaderboard.

Both are snapshot channels: a listener gets the current state at once (the kind's
`on_subscribe`), then live events, with `id:` set from the board version; nothing older is
replayed, so `Last-Event-ID` is only validated.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from sse_starlette import EventSourceResponse

from edge.errors import error_responses
from edge.params import IdPath
from edge.services import Services, ServicesDep
from realtime.deps import HubDep
from realtime.hub import Hub
from realtime.sse import Resume, resume_point, sse_auth, stream_channel

router = APIRouter(tags=["streams"])

LastEventId = Annotated[str | None, Header(alias="Last-Event-ID")]
Ticket = Annotated[str | None, Query(max_length=128)]


def _responses(description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"content": {"text/event-stream": {}}, "description": description},
        **error_responses(401, 403, 404, 422, 503),
    }


async def _snapshot_stream(
    services: Services,
    hub: Hub,
    channel: str,
    authorization: str | None,
    last_event_id: str | None,
    ticket: str | None,
) -> EventSourceResponse:
    auth = await sse_auth(services, authorization, ticket)
    resume_point(last_event_id, None)  # validated; a snapshot channel restarts from now
    return await stream_channel(
        services, hub, auth.user, channel, Resume(), auth.expires_at, jti=auth.jti
    )


@router.get("/sessions/{session_id:int}/events", responses=_responses("The session's events."))
async def session_events(
    session_id: IdPath,
    services: ServicesDep,
    hub: HubDep,
    authorization: Annotated[str | None, Header()] = None,
    last_event_id: LastEventId = None,
    ticket: Ticket = None,
) -> EventSourceResponse:
    """`quiz:{id}` over SSE: the current state at once, then live (boards: `id:` version)."""
    channel = f"quiz:{session_id}"
    return await _snapshot_stream(services, hub, channel, authorization, last_event_id, ticket)


@router.get("/rooms/{room_id:int}/leaderboard/events", responses=_responses("The group's board."))
async def room_leaderboard_events(
    room_id: IdPath,
    services: ServicesDep,
    hub: HubDep,
    authorization: Annotated[str | None, Header()] = None,
    last_event_id: LastEventId = None,
    ticket: Ticket = None,
) -> EventSourceResponse:
    """`leaderboard:{id}` over SSE: the current board at once, then `board` (id: version)."""
    channel = f"leaderboard:{room_id}"
    return await _snapshot_stream(services, hub, channel, authorization, last_event_id, ticket)
