"""Quiz sessions: a group's owner or admins run a quiz live; the server keeps the time.

Guarantees:
- PostgreSQL holds the whole state (`phase`, `current_index`, `deadline`). Every move is
  ONE conditional UPDATE on the state it moves from (`advance`), so however many workers
  try at once, exactly one performs each transition and publishes its event: no question
  is skipped, opened twice or revealed twice.
- Deadlines are PostgreSQL's clock (`clock_timestamp()`), the one clock every worker
  shares. Answers (domain/study/answers.py, a batch per transaction) lock the session row
  FOR SHARE while they check the deadline and insert; closing the question (an UPDATE)
  waits for those locks, so an accepted answer is always committed before its question
  closes and is in the reveal's board.
- One answer per member per question (the primary key of session_answers): a second one,
  concurrent or not, on any worker, is refused with Conflict and never scored.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from broker import PubSub
from domain import metrics
from domain.access import require_manager, require_member
from domain.errors import Conflict, Invalid, NotFound
from domain.events import encode
from domain.quizzes import load_quiz
from domain.study.events import (
    EndedEvent,
    LiveQuestion,
    QuestionEvent,
    RevealEvent,
    StudyEvent,
)
from models import Difficulty, Phase, Question, Quiz, QuizSession, Subject

MAX_SECONDS_PER_QUESTION = 300
MAX_SESSION_QUESTIONS = 200
Status = Literal["scheduled", "running", "ended"]


def status_of(phase: str) -> Status:
    if phase == Phase.scheduled:
        return "scheduled"
    return "ended" if phase == Phase.ended else "running"


def channel_of(session_id: int) -> str:
    return f"quiz:{session_id}"


@dataclass(frozen=True, slots=True)
class Draw:
    """Draw the session's questions from the group's whole bank instead of the quiz."""

    count: int | None = None
    subject: Subject | None = None
    topic: str | None = None
    difficulty: Difficulty | None = None

    def any(self) -> bool:
        return any(v is not None for v in (self.count, self.subject, self.topic, self.difficulty))


async def _draw(session: AsyncSession, room_id: int, draw: Draw) -> list[int]:
    query = (
        select(Question.id).join(Quiz, Quiz.id == Question.quiz_id).where(Quiz.room_id == room_id)
    )
    if draw.subject is not None:
        query = query.where(Question.subject == draw.subject)
    if draw.topic is not None:
        query = query.where(func.lower(Question.topic) == draw.topic.lower())
    if draw.difficulty is not None:
        query = query.where(Question.difficulty == draw.difficulty)
    ids = list((await session.scalars(query.order_by(Question.id))).all())
    count = min(draw.count or len(ids), len(ids), MAX_SESSION_QUESTIONS)
    return random.sample(ids, count)  # a question order, not a secret


async def create_session(
    session: AsyncSession,
    quiz_id: int,
    user_id: int,
    *,
    seconds_per_question: int,
    min_seconds: int,
    reveal_seconds: float,
    draw: Draw | None = None,
) -> QuizSession:
    """Owner/admin only. The questions are fixed now: the quiz's, in order, or a random
    draw from the group's bank. Raises NotFound, Forbidden, Invalid, Conflict (no questions).
    """
    quiz = await load_quiz(session, quiz_id)
    await require_manager(session, quiz.room_id, user_id)
    if not min_seconds <= seconds_per_question <= MAX_SECONDS_PER_QUESTION:
        raise Invalid(f"seconds_per_question must be {min_seconds} to {MAX_SECONDS_PER_QUESTION}.")
    if draw is not None and draw.any():
        ids = await _draw(session, quiz.room_id, draw)
    else:
        ids = [q.id for q in quiz.questions][:MAX_SESSION_QUESTIONS]
    if not ids:
        raise Conflict("There are no questions to play: add some, or change the filters.")
    row = QuizSession(
        quiz_id=quiz.id,
        room_id=quiz.room_id,
        created_by=user_id,
        phase=Phase.scheduled,
        question_ids=ids,
        seconds_per_question=seconds_per_question,
        reveal_ms=int(reveal_seconds * 1000),
        current_index=-1,
    )
    session.add(row)
    await session.commit()
    return row


async def _load(session: AsyncSession, session_id: int) -> QuizSession:
    row = await session.get(QuizSession, session_id, populate_existing=True)
    if row is None:
        raise NotFound(f"Session {session_id} does not exist.")
    return row


async def get_session(session: AsyncSession, session_id: int, user_id: int) -> QuizSession:
    """Members of the session's group only."""
    row = await _load(session, session_id)
    await require_member(session, row.room_id, user_id)
    return row


async def _live_question(session: AsyncSession, row: QuizSession) -> QuestionEvent:
    question = await session.get(Question, row.question_ids[row.current_index])
    assert row.deadline is not None
    return QuestionEvent(
        channel=channel_of(row.id),
        index=row.current_index,
        count=len(row.question_ids),
        deadline=row.deadline,
        question=LiveQuestion(
            id=row.question_ids[row.current_index],
            text=question.prompt if question else "(this question was deleted)",
            options=list(question.options) if question else ["", "", "", ""],
        ),
    )


async def _reveal(session: AsyncSession, row: QuizSession) -> RevealEvent:
    question_id = row.question_ids[row.current_index]
    question = await session.get(Question, question_id)
    return RevealEvent(
        channel=channel_of(row.id),
        index=row.current_index,
        question_id=question_id,
        correct_index=question.correct_index if question else 0,
        explanation=question.explanation if question else "",
    )


async def current_events(session: AsyncSession, session_id: int) -> list[StudyEvent]:
    """What a subscriber joining now needs: the open question, the reveal, or `ended`."""
    row = await _load(session, session_id)
    if row.phase == Phase.open:
        return [await _live_question(session, row)]
    if row.phase == Phase.revealed:
        return [await _reveal(session, row)]
    if row.phase == Phase.ended:
        return [EndedEvent(channel=channel_of(row.id))]
    return []


_START = text(
    """
    UPDATE quiz_sessions
    SET phase = 'open', current_index = 0, started_at = clock_timestamp(),
        deadline = clock_timestamp() + make_interval(secs => seconds_per_question)
    WHERE id = :id AND phase = 'scheduled'
    RETURNING id
    """
)


async def start_session(session: AsyncSession, session_id: int, user_id: int) -> QuestionEvent:
    """Owner/admin only; opens the first question. Conflict when started already."""
    row = await _load(session, session_id)
    await require_manager(session, row.room_id, user_id)
    if (await session.execute(_START, {"id": session_id})).first() is None:
        await session.rollback()
        raise Conflict(f"Session {session_id} has started already.")
    await session.commit()
    return await _live_question(session, await _load(session, session_id))


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of one `advance`: events to publish (after the commit), and when to
    look again (None: nothing more to run)."""

    events: list[StudyEvent] = field(default_factory=list)
    wait: float | None = None
    room_id: int = 0
    revealed: bool = False
    ended: bool = False


_STATE = text(
    """
    SELECT phase, current_index, deadline, cardinality(question_ids), room_id,
           clock_timestamp()
    FROM quiz_sessions WHERE id = :id
    """
)
_CLOSE = text(
    """
    UPDATE quiz_sessions
    SET phase = 'revealed', deadline = clock_timestamp() + make_interval(secs => reveal_ms / 1000.0)
    WHERE id = :id AND phase = 'open' AND current_index = :index
    RETURNING id
    """
)
_NEXT = text(
    """
    UPDATE quiz_sessions
    SET phase = 'open', current_index = current_index + 1,
        deadline = clock_timestamp() + make_interval(secs => seconds_per_question)
    WHERE id = :id AND phase = 'revealed' AND current_index = :index
    RETURNING id
    """
)
_END = text(
    """
    UPDATE quiz_sessions
    SET phase = 'ended', ended_at = clock_timestamp(), deadline = NULL
    WHERE id = :id AND phase = 'revealed' AND current_index = :index
    RETURNING id
    """
)


async def advance(session: AsyncSession, session_id: int) -> Step:
    """Perform the transition that is due, if any (at most one per call)."""
    state = (await session.execute(_STATE, {"id": session_id})).first()
    if state is None:
        return Step()
    phase, index, deadline, count, room_id, now = state
    if phase not in (Phase.open, Phase.revealed):
        return Step(room_id=room_id)
    assert isinstance(deadline, datetime)
    if deadline > now:
        return Step(wait=(deadline - now) / timedelta(seconds=1), room_id=room_id)
    if phase == Phase.open:
        statement, ended = _CLOSE, False
    elif index + 1 < count:
        statement, ended = _NEXT, False
    else:
        statement, ended = _END, True
    if (await session.execute(statement, {"id": session_id, "index": index})).first() is None:
        await session.rollback()  # another worker moved it: look again at once
        return Step(wait=0.0, room_id=room_id)
    await session.commit()
    if ended:
        return Step([EndedEvent(channel=channel_of(session_id))], None, room_id, ended=True)
    row = await _load(session, session_id)
    if phase == Phase.open:
        return Step([await _reveal(session, row)], 0.0, room_id, revealed=True)
    return Step([await _live_question(session, row)], 0.0, room_id)


async def live_in_room(
    session: AsyncSession, room_id: int, user_id: int, limit: int = 20
) -> list[QuizSession]:
    """The group's sessions that are not over (scheduled, open or revealed), newest
    first; members only (not_found / forbidden like every room read)."""
    await require_member(session, room_id, user_id)
    rows = await session.scalars(
        select(QuizSession)
        .where(QuizSession.room_id == room_id, QuizSession.phase != Phase.ended)
        .order_by(QuizSession.id.desc())
        .limit(limit)
    )
    return list(rows.all())


async def running_ids(session: AsyncSession, limit: int = 1000) -> list[int]:
    rows = await session.scalars(
        select(QuizSession.id)
        .where(QuizSession.phase.in_([Phase.open, Phase.revealed]))
        .order_by(QuizSession.id)
        .limit(limit)
    )
    return list(rows.all())


async def announce(broker: PubSub, origin: str, events: list[StudyEvent]) -> None:
    """Publish events (after their transition committed), each serialized once."""
    for event in events:
        await broker.publish(event.channel, encode(event, origin))
        metrics.published(event.channel)


@dataclass(frozen=True, slots=True)
class MyAnswer:
    question_id: int
    index: int
    selected_index: int | None
    correct_index: int | None  # None while the question has not been revealed
    marks: int | None


async def my_answers(session: AsyncSession, row: QuizSession, user_id: int) -> list[MyAnswer]:
    """The caller's line per question played so far; the key only for revealed ones."""
    played = row.current_index + (0 if row.phase == Phase.open else 1)
    if row.phase == Phase.ended:
        played = len(row.question_ids)
    ids = row.question_ids[: max(0, played)]
    answers = {
        a.question_id: a
        for a in (
            await session.execute(
                text(
                    "SELECT question_id, selected_index, marks FROM session_answers "
                    "WHERE session_id = :sid AND user_id = :uid"
                ),
                {"sid": row.id, "uid": user_id},
            )
        ).all()
    }
    keys: dict[int, int] = {}
    if ids:
        query = select(Question.id, Question.correct_index).where(Question.id.in_(ids))
        keys = {qid: key for qid, key in (await session.execute(query)).all()}
    lines = []
    for i, qid in enumerate(ids):
        revealed = i < row.current_index or row.phase in (Phase.revealed, Phase.ended)
        a = answers.get(qid)
        lines.append(
            MyAnswer(
                question_id=qid,
                index=i,
                selected_index=a.selected_index if a else None,
                correct_index=keys.get(qid) if revealed else None,
                marks=(a.marks if a else 0) if revealed else None,
            )
        )
    return lines
