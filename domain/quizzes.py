"""NEET quizzes of a study group: questions (managed by its owner and admins) and attempts.

Who may do what:
- any member of the room lists quizzes, reads them and submits attempts; the answer key
  (correct_index, explanation) is only shown to the room's owner and admins, because a quiz
  is taken before its answers are revealed;
- the owner and admins create, edit and delete quizzes and their questions;
- an attempt, and with it the answer key of the questions it covers, is seen only by the
  user who submitted it.

Scoring lives in domain/scoring.py (pure), attempts in domain/attempts.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import require_manager, require_member
from domain.errors import Conflict, Invalid, NotFound
from models import (
    Difficulty,
    MemberRole,
    Membership,
    Question,
    Quiz,
    Room,
    RoomKind,
    Subject,
)

CORRECT_MARKS = 4
WRONG_MARKS = -1
UNANSWERED_MARKS = 0
OPTION_COUNT = 4
MAX_OPTION_CHARS = 500
MAX_QUESTIONS = 200


@dataclass(frozen=True, slots=True)
class QuestionDraft:
    subject: Subject
    topic: str
    difficulty: Difficulty
    prompt: str
    options: list[str]
    correct_index: int
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class QuestionPatch:
    """Fields to change; None leaves a field as it is."""

    subject: Subject | None = None
    topic: str | None = None
    difficulty: Difficulty | None = None
    prompt: str | None = None
    options: list[str] | None = None
    correct_index: int | None = None
    explanation: str | None = None


@dataclass(frozen=True, slots=True)
class QuizSummary:
    id: int
    room_id: int
    title: str
    subject: Subject
    created_by: int
    created_at: datetime
    question_count: int


@dataclass(frozen=True, slots=True)
class QuizView:
    quiz: Quiz
    reveal: bool  # the caller manages the room: show correct_index and explanation


def _is_manager(membership: Membership) -> bool:
    return membership.role in (MemberRole.owner, MemberRole.admin)


def _check_options(options: Sequence[str]) -> None:
    if len(options) != OPTION_COUNT:
        raise Invalid(f"A question has exactly {OPTION_COUNT} options.")
    if any(not o.strip() or len(o) > MAX_OPTION_CHARS for o in options):
        raise Invalid(f"Each option is 1 to {MAX_OPTION_CHARS} characters.")


def _check_correct_index(index: int) -> None:
    if not 0 <= index < OPTION_COUNT:
        raise Invalid(f"correct_index must be 0 to {OPTION_COUNT - 1}.")


def _question(draft: QuestionDraft, position: int) -> Question:
    _check_options(draft.options)
    _check_correct_index(draft.correct_index)
    return Question(
        position=position,
        subject=draft.subject,
        topic=draft.topic,
        difficulty=draft.difficulty,
        prompt=draft.prompt,
        options=list(draft.options),
        correct_index=draft.correct_index,
        explanation=draft.explanation,
    )


async def load_quiz(session: AsyncSession, quiz_id: int) -> Quiz:
    quiz = await session.get(Quiz, quiz_id)  # its questions come in one more query (selectin)
    if quiz is None:
        raise NotFound(f"Quiz {quiz_id} does not exist.")
    return quiz


async def _question_room(session: AsyncSession, question_id: int) -> tuple[Question, int]:
    row = (
        await session.execute(
            select(Question, Quiz.room_id)
            .join(Quiz, Quiz.id == Question.quiz_id)
            .where(Question.id == question_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"Question {question_id} does not exist.")
    return row[0], row[1]


async def list_quizzes(session: AsyncSession, room_id: int, user_id: int) -> list[QuizSummary]:
    """The room's quizzes, newest first, each with its number of questions (one query)."""
    await require_member(session, room_id, user_id)
    rows = await session.execute(
        select(
            Quiz.id,
            Quiz.room_id,
            Quiz.title,
            Quiz.subject,
            Quiz.created_by,
            Quiz.created_at,
            func.count(Question.id),
        )
        .outerjoin(Question, Question.quiz_id == Quiz.id)
        .where(Quiz.room_id == room_id)
        .group_by(Quiz.id)
        .order_by(Quiz.created_at.desc(), Quiz.id.desc())
    )
    return [QuizSummary(*row) for row in rows.all()]


async def create_quiz(
    session: AsyncSession,
    room_id: int,
    user_id: int,
    *,
    title: str,
    subject: Subject,
    questions: Sequence[QuestionDraft] = (),
) -> QuizView:
    """Owner/admin only. Raises Conflict when the room is not a study group."""
    await require_manager(session, room_id, user_id)
    kind = (await session.execute(select(Room.kind).where(Room.id == room_id))).scalar_one()
    if kind is not RoomKind.study_group:
        raise Conflict(f"Quizzes belong to study groups; room {room_id} is a {kind.value}.")
    if len(questions) > MAX_QUESTIONS:
        raise Invalid(f"A quiz has at most {MAX_QUESTIONS} questions.")
    quiz = Quiz(
        room_id=room_id,
        title=title,
        subject=subject,
        created_by=user_id,
        questions=[_question(d, i) for i, d in enumerate(questions)],
    )
    session.add(quiz)
    await session.commit()
    return QuizView(quiz, reveal=True)


async def get_quiz(session: AsyncSession, quiz_id: int, user_id: int) -> QuizView:
    quiz = await load_quiz(session, quiz_id)
    membership = await require_member(session, quiz.room_id, user_id)
    return QuizView(quiz, reveal=_is_manager(membership))


async def update_quiz(
    session: AsyncSession,
    quiz_id: int,
    user_id: int,
    *,
    title: str | None = None,
    subject: Subject | None = None,
) -> QuizView:
    quiz = await load_quiz(session, quiz_id)
    await require_manager(session, quiz.room_id, user_id)
    if title is not None:
        quiz.title = title
    if subject is not None:
        quiz.subject = subject
    await session.commit()
    return QuizView(quiz, reveal=True)


async def delete_quiz(session: AsyncSession, quiz_id: int, user_id: int) -> None:
    """Deletes its questions and every attempt at it too (ON DELETE CASCADE)."""
    room_id = (
        await session.execute(select(Quiz.room_id).where(Quiz.id == quiz_id))
    ).scalar_one_or_none()
    if room_id is None:
        raise NotFound(f"Quiz {quiz_id} does not exist.")
    await require_manager(session, room_id, user_id)
    await session.execute(delete(Quiz).where(Quiz.id == quiz_id))
    await session.commit()


async def add_question(
    session: AsyncSession, quiz_id: int, user_id: int, draft: QuestionDraft
) -> Question:
    """Append a question after the quiz's last one.

    The quiz row is locked while the next position is taken, so two concurrent appends
    never get the same position.
    """
    room_id = (
        await session.execute(select(Quiz.room_id).where(Quiz.id == quiz_id).with_for_update())
    ).scalar_one_or_none()
    if room_id is None:
        raise NotFound(f"Quiz {quiz_id} does not exist.")
    await require_manager(session, room_id, user_id)
    count, last = (
        await session.execute(
            select(func.count(), func.max(Question.position)).where(Question.quiz_id == quiz_id)
        )
    ).one()
    if count >= MAX_QUESTIONS:
        raise Conflict(f"Quiz {quiz_id} already has {MAX_QUESTIONS} questions, the most allowed.")
    question = _question(draft, 0 if last is None else last + 1)
    question.quiz_id = quiz_id
    session.add(question)
    await session.commit()
    return question


async def update_question(
    session: AsyncSession, question_id: int, user_id: int, patch: QuestionPatch
) -> Question:
    question, room_id = await _question_room(session, question_id)
    await require_manager(session, room_id, user_id)
    if patch.options is not None:
        _check_options(patch.options)
        question.options = list(patch.options)
    if patch.correct_index is not None:
        _check_correct_index(patch.correct_index)
        question.correct_index = patch.correct_index
    for field in ("subject", "topic", "difficulty", "prompt", "explanation"):
        value = getattr(patch, field)
        if value is not None:
            setattr(question, field, value)
    await session.commit()
    return question


async def delete_question(session: AsyncSession, question_id: int, user_id: int) -> None:
    """Past attempts keep their totals; their answer row for this question goes with it."""
    _, room_id = await _question_room(session, question_id)
    await require_manager(session, room_id, user_id)
    await session.execute(delete(Question).where(Question.id == question_id))
    await session.commit()
