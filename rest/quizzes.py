"""/api/v1 quizzes of study groups, their questions, and attempts at them."""

from __future__ import annotations

from fastapi import APIRouter, status

from domain import attempts, quizzes, scoring
from domain.notifications import Kind
from edge.errors import error_responses
from edge.params import IdPath
from edge.services import ServicesDep
from models import Question
from rest.deps import AuthFirstRoute, CurrentUser, SessionDep
from rest.schemas.quizzes import (
    AnswerOut,
    AttemptIn,
    AttemptOut,
    QuestionIn,
    QuestionOut,
    QuestionPatchIn,
    QuizCreate,
    QuizOut,
    QuizPatchIn,
    QuizSummaryOut,
)

router = APIRouter(tags=["quizzes"], route_class=AuthFirstRoute)
_READ_ERRORS = error_responses(401, 403, 404)
_WRITE_ERRORS = error_responses(400, 401, 403, 404)


def question_out(q: Question, *, reveal: bool) -> QuestionOut:
    return QuestionOut(
        id=q.id,
        quiz_id=q.quiz_id,
        position=q.position,
        subject=q.subject,
        topic=q.topic,
        difficulty=q.difficulty,
        prompt=q.prompt,
        options=list(q.options),
        correct_index=q.correct_index if reveal else None,
        explanation=q.explanation if reveal else None,
    )


def quiz_out(view: quizzes.QuizView) -> QuizOut:
    quiz = view.quiz
    return QuizOut(
        id=quiz.id,
        room_id=quiz.room_id,
        title=quiz.title,
        subject=quiz.subject,
        created_by=quiz.created_by,
        created_at=quiz.created_at,
        question_count=len(quiz.questions),
        questions=[question_out(q, reveal=view.reveal) for q in quiz.questions],
    )


def attempt_out(result: attempts.AttemptResult) -> AttemptOut:
    a = result.attempt
    return AttemptOut(
        id=a.id,
        quiz_id=a.quiz_id,
        user_id=a.user_id,
        score=a.score,
        max_score=result.max_score,
        correct=a.correct,
        wrong=a.wrong,
        unanswered=a.unanswered,
        submitted_at=a.submitted_at,
        answers=[
            AnswerOut(
                question_id=line.question_id,
                selected_index=line.selected_index,
                correct_index=line.correct_index,
                is_correct=line.is_correct,
                marks=line.marks,
                explanation=line.explanation,
            )
            for line in result.answers
        ],
    )


def draft(body: QuestionIn) -> quizzes.QuestionDraft:
    return quizzes.QuestionDraft(
        subject=body.subject,
        topic=body.topic,
        difficulty=body.difficulty,
        prompt=body.prompt,
        options=list(body.options),
        correct_index=body.correct_index,
        explanation=body.explanation,
    )


@router.get(
    "/rooms/{room_id:int}/quizzes", response_model=list[QuizSummaryOut], responses=_READ_ERRORS
)
async def list_quizzes(
    room_id: IdPath, user: CurrentUser, session: SessionDep
) -> list[QuizSummaryOut]:
    """The room's quizzes, newest first."""
    return [
        QuizSummaryOut(
            id=s.id,
            room_id=s.room_id,
            title=s.title,
            subject=s.subject,
            created_by=s.created_by,
            created_at=s.created_at,
            question_count=s.question_count,
        )
        for s in await quizzes.list_quizzes(session, room_id, user.id)
    ]


@router.post(
    "/rooms/{room_id:int}/quizzes",
    status_code=status.HTTP_201_CREATED,
    response_model=QuizOut,
    responses=error_responses(400, 401, 403, 404, 409),
)
async def create_quiz(
    room_id: IdPath,
    body: QuizCreate,
    user: CurrentUser,
    session: SessionDep,
    services: ServicesDep,
) -> QuizOut:
    """Owner/admin of a study group only (409 for a bot conversation). Every other
    member is notified (`quiz_posted`)."""
    view = await quizzes.create_quiz(
        session,
        room_id,
        user.id,
        title=body.title,
        subject=body.subject,
        questions=[draft(q) for q in body.questions],
    )
    data = {"quiz_id": view.quiz.id, "title": view.quiz.title}
    await services.notifier.members_but(room_id, user.id, Kind.quiz_posted, data)
    return quiz_out(view)


@router.get("/quizzes/{quiz_id:int}", response_model=QuizOut, responses=_READ_ERRORS)
async def get_quiz(quiz_id: IdPath, user: CurrentUser, session: SessionDep) -> QuizOut:
    """Members see the questions; only the owner and admins see correct_index/explanation."""
    return quiz_out(await quizzes.get_quiz(session, quiz_id, user.id))


@router.patch("/quizzes/{quiz_id:int}", response_model=QuizOut, responses=_WRITE_ERRORS)
async def update_quiz(
    quiz_id: IdPath, body: QuizPatchIn, user: CurrentUser, session: SessionDep
) -> QuizOut:
    view = await quizzes.update_quiz(
        session, quiz_id, user.id, title=body.title, subject=body.subject
    )
    return quiz_out(view)


@router.delete(
    "/quizzes/{quiz_id:int}", status_code=status.HTTP_204_NO_CONTENT, responses=_READ_ERRORS
)
async def delete_quiz(quiz_id: IdPath, user: CurrentUser, session: SessionDep) -> None:
    """Also deletes its questions and every attempt at it."""
    await quizzes.delete_quiz(session, quiz_id, user.id)


@router.post(
    "/quizzes/{quiz_id:int}/questions",
    status_code=status.HTTP_201_CREATED,
    response_model=QuestionOut,
    responses=error_responses(400, 401, 403, 404, 409),
)
async def add_question(
    quiz_id: IdPath, body: QuestionIn, user: CurrentUser, session: SessionDep
) -> QuestionOut:
    """Appended after the quiz's last question."""
    question = await quizzes.add_question(session, quiz_id, user.id, draft(body))
    return question_out(question, reveal=True)


@router.patch("/questions/{question_id:int}", response_model=QuestionOut, responses=_WRITE_ERRORS)
async def update_question(
    question_id: IdPath, body: QuestionPatchIn, user: CurrentUser, session: SessionDep
) -> QuestionOut:
    patch = quizzes.QuestionPatch(
        subject=body.subject,
        topic=body.topic,
        difficulty=body.difficulty,
        prompt=body.prompt,
        options=body.options,
        correct_index=body.correct_index,
        explanation=body.explanation,
    )
    question = await quizzes.update_question(session, question_id, user.id, patch)
    return question_out(question, reveal=True)


@router.delete(
    "/questions/{question_id:int}", status_code=status.HTTP_204_NO_CONTENT, responses=_READ_ERRORS
)
async def delete_question(question_id: IdPath, user: CurrentUser, session: SessionDep) -> None:
    await quizzes.delete_question(session, question_id, user.id)


@router.post(
    "/quizzes/{quiz_id:int}/attempts",
    status_code=status.HTTP_201_CREATED,
    response_model=AttemptOut,
    responses=error_responses(400, 401, 403, 404, 409),
)
async def submit_attempt(
    quiz_id: IdPath, body: AttemptIn, user: CurrentUser, session: SessionDep, services: ServicesDep
) -> AttemptOut:
    """Scored with NEET marking; the result reveals the correct answers and explanations.
    The group's all-time leaderboard counts it."""
    choices = [scoring.Choice(a.question_id, a.selected_index) for a in body.answers]
    result = await attempts.submit_attempt(session, quiz_id, user.id, choices)
    out = attempt_out(result)
    if services.study is not None:
        room_id = (await quizzes.load_quiz(session, quiz_id)).room_id
        await services.study.scored(room_id, user.id, db=session)
    return out


@router.get(
    "/quizzes/{quiz_id:int}/attempts/me", response_model=list[AttemptOut], responses=_READ_ERRORS
)
async def my_attempts(quiz_id: IdPath, user: CurrentUser, session: SessionDep) -> list[AttemptOut]:
    """The caller's attempts at the quiz, newest first."""
    return [attempt_out(r) for r in await attempts.my_attempts(session, quiz_id, user.id)]


@router.get(
    "/attempts/{attempt_id:int}", response_model=AttemptOut, responses=error_responses(401, 404)
)
async def get_attempt(attempt_id: IdPath, user: CurrentUser, session: SessionDep) -> AttemptOut:
    """Only the user who submitted it; to anyone else it does not exist (404)."""
    return attempt_out(await attempts.get_attempt(session, attempt_id, user.id))
