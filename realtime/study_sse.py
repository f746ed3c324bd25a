"""Server-Sent Events for study groups: a quiz session and a group's all-time leaderboard.

Both are snapshot channels: a listener gets the current state at once (the kind's
`on_subscribe`), then live events, with `id:` set from the board version; nothing older is
replayed, so `Last-Event-ID` is only validated.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sse_starlette import EventSourceResponse

from edge.errors import error_responses
from edge.params import IdPath
from edge.services import ServicesDep
from realtime.deps import HubDep
from realtime.sse import SnapshotListener

router = APIRouter(tags=["streams"])


def _responses(description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"content": {"text/event-stream": {}}, "description": description},
        **error_responses(401, 403, 404, 422, 503),
    }


@router.get("/sessions/{session_id:int}/events", responses=_responses("The session's events."))
async def session_events(
    session_id: IdPath, services: ServicesDep, hub: HubDep, listener: SnapshotListener
) -> EventSourceResponse:
    """`quiz:{id}` over SSE: the current state at once, then live (boards: `id:` version)."""
    return await listener.open(services, hub, f"quiz:{session_id}")


@router.get("/rooms/{room_id:int}/leaderboard/events", responses=_responses("The group's board."))
async def room_leaderboard_events(
    room_id: IdPath, services: ServicesDep, hub: HubDep, listener: SnapshotListener
) -> EventSourceResponse:
    """`leaderboard:{id}` over SSE: the current board at once, then `board` (id: version)."""
    return await listener.open(services, hub, f"leaderboard:{room_id}")
