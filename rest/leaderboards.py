"""/api/v1 a study group's all-time leaderboard (REST and SSE) and a member's history."""

from __future__ import annotations

from fastapi import APIRouter

from domain.access import require_member
from domain.study import boards, history
from edge.errors import error_responses
from edge.params import IdPath
from edge.services import ServicesDep
from rest.deps import AuthFirstRoute, CurrentUser, SessionDep
from rest.schemas.study import (
    AccuracyOut,
    AttemptLineOut,
    HistoryOut,
    LeaderboardOut,
    SessionLineOut,
)
from rest.sessions import Limit, Offset, board_out

router = APIRouter(tags=["leaderboards"], route_class=AuthFirstRoute)


@router.get(
    "/rooms/{room_id:int}/leaderboard",
    response_model=LeaderboardOut,
    responses=error_responses(401, 403, 404),
)
async def room_leaderboard(
    room_id: IdPath,
    user: CurrentUser,
    session: SessionDep,
    services: ServicesDep,
    limit: Limit = 10,
    offset: Offset = 0,
) -> LeaderboardOut:
    """Every session of the group and every attempt at its quizzes; `me` is the caller."""
    await require_member(session, room_id, user.id)
    page = await boards.page(
        session, services.broker, boards.room_board(room_id), offset=offset, limit=limit, me=user.id
    )
    return board_out(page)


@router.get("/users/me/history", response_model=HistoryOut, responses=error_responses(401))
async def my_history(user: CurrentUser, session: SessionDep) -> HistoryOut:
    """The caller's attempts and sessions (newest 100 each) and accuracy per subject."""
    h = await history.history(session, user.id)
    return HistoryOut(
        attempts=[AttemptLineOut.model_validate(a, from_attributes=True) for a in h.attempts],
        sessions=[SessionLineOut.model_validate(s, from_attributes=True) for s in h.sessions],
        accuracy=[
            AccuracyOut(
                subject=a.subject,  # type: ignore[arg-type]  # one of SUBJECTS
                answered=a.answered,
                correct=a.correct,
                accuracy=a.accuracy,
            )
            for a in h.accuracy
        ],
    )
