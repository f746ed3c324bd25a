"""/api/v1 quiz sessions: create, start, read, answer, results, leaderboard, events (SSE)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from domain.errors import Unavailable
from domain.notifications import Kind
from domain.study import boards
from domain.study import sessions as quiz_sessions
from domain.study.boards import BoardPage
from domain.study.events import BoardEntry
from domain.study.live import Study
from edge.errors import error_responses
from edge.params import IdPath
from edge.services import Services, ServicesDep
from models import QuizSession
from rest.deps import AuthFirstRoute, CurrentUser, SessionDep
from rest.schemas.study import (
    AnswerIn,
    AnswerOut,
    BoardEntryOut,
    LeaderboardOut,
    MyAnswerOut,
    ResultsOut,
    SessionCreate,
    SessionOut,
)

router = APIRouter(tags=["sessions"], route_class=AuthFirstRoute)
Limit = Annotated[int, Query(ge=1, le=boards.MAX_PAGE)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def study_of(services: Services) -> Study:
    if services.study is None:
        raise Unavailable("Quiz sessions are not running on this server.")
    return services.study


def session_out(row: QuizSession) -> SessionOut:
    return SessionOut(
        id=row.id,
        quiz_id=row.quiz_id,
        room_id=row.room_id,
        status=quiz_sessions.status_of(row.phase),
        question_count=len(row.question_ids),
        seconds_per_question=row.seconds_per_question,
        current_index=row.current_index,
        started_at=row.started_at,
        ended_at=row.ended_at,
        phase=row.phase,  # type: ignore[arg-type]  # CHECK constraint: one of the four
        deadline=row.deadline,
    )


def board_out(page: BoardPage) -> LeaderboardOut:
    def entry(e: BoardEntry) -> BoardEntryOut:
        return BoardEntryOut.model_validate(e.model_dump())

    return LeaderboardOut(
        version=page.version,
        total=page.total,
        items=[entry(e) for e in page.items],
        me=entry(page.me) if page.me else None,
    )


@router.post(
    "/quizzes/{quiz_id:int}/sessions",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionOut,
    responses=error_responses(400, 401, 403, 404, 409),
)
async def create_session(
    quiz_id: IdPath,
    body: SessionCreate,
    user: CurrentUser,
    session: SessionDep,
    services: ServicesDep,
) -> SessionOut:
    """Owner/admin of the quiz's group. The session waits until started."""
    row = await quiz_sessions.create_session(
        session,
        quiz_id,
        user.id,
        seconds_per_question=body.seconds_per_question,
        min_seconds=services.settings.quiz_min_seconds_per_question,
        reveal_seconds=services.settings.quiz_reveal_seconds,
        draw=quiz_sessions.Draw(body.count, body.subject, body.topic, body.difficulty),
    )
    return session_out(row)


@router.post(
    "/sessions/{session_id:int}/start",
    response_model=SessionOut,
    responses=error_responses(401, 403, 404, 409),
)
async def start_session(
    session_id: IdPath, user: CurrentUser, session: SessionDep, services: ServicesDep
) -> SessionOut:
    """Owner/admin; opens question 0 now (409 when started already). Every other member
    of the group is notified (`quiz_starting`)."""
    study = study_of(services)
    event = await quiz_sessions.start_session(session, session_id, user.id)
    await quiz_sessions.announce(services.broker, services.broker.node, [event])
    await study.runner.kick(session_id)
    row = await quiz_sessions.get_session(session, session_id, user.id)
    data = {"session_id": row.id, "quiz_id": row.quiz_id}
    await services.notifier.members_but(row.room_id, user.id, Kind.quiz_starting, data)
    return session_out(row)


@router.get(
    "/sessions/{session_id:int}",
    response_model=SessionOut,
    responses=error_responses(401, 403, 404),
)
async def get_session(session_id: IdPath, user: CurrentUser, session: SessionDep) -> SessionOut:
    return session_out(await quiz_sessions.get_session(session, session_id, user.id))


@router.get(
    "/rooms/{room_id:int}/sessions",
    response_model=list[SessionOut],
    responses=error_responses(401, 403, 404),
)
async def live_sessions(
    room_id: IdPath, user: CurrentUser, session: SessionDep
) -> list[SessionOut]:
    """The group's sessions not yet ended (scheduled or running), newest first, at most
    20; members only. How a client finds the live quiz of a group it did not start."""
    rows = await quiz_sessions.live_in_room(session, room_id, user.id)
    return [session_out(row) for row in rows]


@router.post(
    "/sessions/{session_id:int}/answers",
    status_code=status.HTTP_201_CREATED,
    response_model=AnswerOut,
    responses=error_responses(400, 401, 403, 404, 409),
)
async def answer(
    session_id: IdPath, body: AnswerIn, user: CurrentUser, services: ServicesDep
) -> AnswerOut:
    """The open question only, once, before its deadline (422 / 409 otherwise)."""
    answered = await study_of(services).answer(user.id, session_id, body.question_id, body.option)
    return AnswerOut(
        session_id=answered.session_id,
        question_id=answered.question_id,
        option=answered.option,
        answered_at=answered.answered_at,
    )


@router.get(
    "/sessions/{session_id:int}/results",
    response_model=ResultsOut,
    responses=error_responses(401, 403, 404),
)
async def results(
    session_id: IdPath, user: CurrentUser, session: SessionDep, services: ServicesDep
) -> ResultsOut:
    """Standings (top 100 and the caller) and the caller's answers; the answer key only
    for questions already revealed."""
    row = await quiz_sessions.get_session(session, session_id, user.id)
    page = await boards.page(
        session, services.broker, boards.session_board(session_id), limit=100, me=user.id
    )
    mine = await quiz_sessions.my_answers(session, row, user.id)
    return ResultsOut(
        session=session_out(row),
        standings=board_out(page),
        answers=[MyAnswerOut.model_validate(m, from_attributes=True) for m in mine],
    )


@router.get(
    "/sessions/{session_id:int}/leaderboard",
    response_model=LeaderboardOut,
    responses=error_responses(401, 403, 404),
)
async def session_leaderboard(
    session_id: IdPath,
    user: CurrentUser,
    session: SessionDep,
    services: ServicesDep,
    limit: Limit = 10,
    offset: Offset = 0,
) -> LeaderboardOut:
    await quiz_sessions.get_session(session, session_id, user.id)
    page = await boards.page(
        session,
        services.broker,
        boards.session_board(session_id),
        offset=offset,
        limit=limit,
        me=user.id,
    )
    return board_out(page)
