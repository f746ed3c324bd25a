"""A member's study history: attempts, live sessions, and accuracy per NEET subject.

Private to the member (it is their own record). Botany and Zoology count as Biology, the
way NEET reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

SUBJECTS = ("physics", "chemistry", "biology")
MAX_ITEMS = 100


@dataclass(frozen=True, slots=True)
class AttemptLine:
    id: int
    quiz_id: int
    title: str
    score: int
    correct: int
    wrong: int
    unanswered: int
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class SessionLine:
    session_id: int
    quiz_id: int
    room_id: int
    score: int
    correct: int
    wrong: int
    last_answer_at: datetime


@dataclass(frozen=True, slots=True)
class Accuracy:
    subject: str
    answered: int
    correct: int

    @property
    def accuracy(self) -> float | None:
        return round(self.correct / self.answered, 4) if self.answered else None


@dataclass(frozen=True, slots=True)
class History:
    attempts: list[AttemptLine]
    sessions: list[SessionLine]
    accuracy: list[Accuracy]


_ATTEMPTS = text(
    """
    SELECT a.id, a.quiz_id, q.title, a.score, a.correct, a.wrong, a.unanswered, a.submitted_at
    FROM attempts a JOIN quizzes q ON q.id = a.quiz_id
    WHERE a.user_id = :uid ORDER BY a.submitted_at DESC, a.id DESC LIMIT :limit
    """
)
_SESSIONS = text(
    """
    SELECT s.id, s.quiz_id, s.room_id, SUM(a.marks)::int,
           COUNT(*) FILTER (WHERE a.is_correct)::int,
           COUNT(*) FILTER (WHERE NOT a.is_correct)::int, MAX(a.answered_at)
    FROM session_answers a JOIN quiz_sessions s ON s.id = a.session_id
    WHERE a.user_id = :uid
    GROUP BY s.id ORDER BY MAX(a.answered_at) DESC LIMIT :limit
    """
)
# Answered questions only (unanswered ones say nothing about accuracy).
_ACCURACY = text(
    """
    WITH answered AS (
        SELECT q.subject::text AS subject, x.is_correct
        FROM answers x JOIN attempts t ON t.id = x.attempt_id
        JOIN questions q ON q.id = x.question_id
        WHERE t.user_id = :uid AND x.is_correct IS NOT NULL
        UNION ALL
        SELECT q.subject::text, a.is_correct
        FROM session_answers a JOIN questions q ON q.id = a.question_id
        WHERE a.user_id = :uid
    )
    SELECT CASE WHEN subject IN ('botany', 'zoology') THEN 'biology' ELSE subject END,
           COUNT(*)::int, COUNT(*) FILTER (WHERE is_correct)::int
    FROM answered GROUP BY 1
    """
)


async def history(session: AsyncSession, user_id: int) -> History:
    """The newest 100 attempts and sessions, and accuracy over everything (3 queries)."""
    params = {"uid": user_id, "limit": MAX_ITEMS}
    attempts = [AttemptLine(*r) for r in (await session.execute(_ATTEMPTS, params)).all()]
    sessions = [SessionLine(*r) for r in (await session.execute(_SESSIONS, params)).all()]
    totals: dict[str, tuple[int, int]] = {}
    for subject, answered, correct in (await session.execute(_ACCURACY, params)).all():
        a, c = totals.get(subject, (0, 0))
        totals[subject] = (a + answered, c + correct)
    accuracy = [Accuracy(s, *totals.get(s, (0, 0))) for s in SUBJECTS]
    return History(attempts, sessions, accuracy)
