"""Attempts at a quiz: scored on submission, private to the user who submitted them.

An attempt stores one answer row per question of the quiz at submission time (unanswered
ones with `selected_index` NULL), together with its totals, in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import require_member
from domain.errors import Conflict, NotFound
from domain.quizzes import load_quiz
from domain.scoring import CORRECT_MARKS, Choice, score
from models import Answer, Attempt, Question


@dataclass(frozen=True, slots=True)
class ResultLine:
    question_id: int
    selected_index: int | None
    correct_index: int
    is_correct: bool | None
    marks: int
    explanation: str


@dataclass(frozen=True, slots=True)
class AttemptResult:
    attempt: Attempt
    answers: list[ResultLine]  # in the quiz's question order

    @property
    def max_score(self) -> int:
        """From the stored totals, so it does not move when questions change later."""
        a = self.attempt
        return CORRECT_MARKS * (a.correct + a.wrong + a.unanswered)


def attempt_result(attempt: Attempt, questions: Sequence[Question]) -> AttemptResult:
    """An attempt with the answer key of its questions revealed.

    correct_index and explanation are the questions' current ones; is_correct and marks are
    as scored at submission.
    """
    stored = {a.question_id: a for a in attempt.answers}
    lines = [
        ResultLine(
            question_id=q.id,
            selected_index=a.selected_index,
            correct_index=q.correct_index,
            is_correct=a.is_correct,
            marks=a.marks,
            explanation=q.explanation,
        )
        for q in questions
        if (a := stored.get(q.id)) is not None
    ]
    return AttemptResult(attempt, lines)


async def submit_attempt(
    session: AsyncSession, quiz_id: int, user_id: int, choices: Sequence[Choice]
) -> AttemptResult:
    """Score and store an attempt (attempt row and answer rows in one transaction).

    Raises NotFound (quiz), Forbidden (not a member), Invalid (see `score`), Conflict (the
    quiz has no questions, or a question was deleted while the attempt was being stored).
    """
    quiz = await load_quiz(session, quiz_id)
    await require_member(session, quiz.room_id, user_id)
    if not quiz.questions:
        raise Conflict(f"Quiz {quiz_id} has no questions yet.")
    scored = score(quiz.questions, choices)
    attempt = Attempt(
        quiz_id=quiz_id,
        user_id=user_id,
        score=scored.score,
        correct=scored.correct,
        wrong=scored.wrong,
        unanswered=scored.unanswered,
        answers=[
            Answer(
                question_id=m.question_id,
                selected_index=m.selected_index,
                is_correct=m.is_correct,
                marks=m.marks,
            )
            for m in scored.answers
        ],
    )
    session.add(attempt)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(f"Quiz {quiz_id} changed while submitting; try again.") from exc
    return attempt_result(attempt, quiz.questions)


async def my_attempts(session: AsyncSession, quiz_id: int, user_id: int) -> list[AttemptResult]:
    """The caller's attempts at a quiz, newest first (a fixed number of queries)."""
    quiz = await load_quiz(session, quiz_id)
    await require_member(session, quiz.room_id, user_id)
    attempts = (
        await session.scalars(
            select(Attempt)
            .where(Attempt.quiz_id == quiz_id, Attempt.user_id == user_id)
            .order_by(Attempt.submitted_at.desc(), Attempt.id.desc())
        )
    ).all()
    return [attempt_result(a, quiz.questions) for a in attempts]


async def get_attempt(session: AsyncSession, attempt_id: int, user_id: int) -> AttemptResult:
    """One attempt, for the user who submitted it only.

    Anyone else gets NotFound, the same answer as for an id that does not exist: an attempt
    is a private result, no one else can ever be allowed to read it, so a `forbidden` would
    only tell a stranger that attempt N exists (and, ids being sequential, how much others
    practise) without offering anything they could act on. The owner keeps access after
    leaving the room: it is their own result.
    """
    attempt = await session.get(Attempt, attempt_id)
    if attempt is None or attempt.user_id != user_id:
        raise NotFound(f"Attempt {attempt_id} does not exist.")
    quiz = await load_quiz(session, attempt.quiz_id)
    return attempt_result(attempt, quiz.questions)
