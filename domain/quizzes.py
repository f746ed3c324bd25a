"""NEET quizzes of a study group: questions (managed by its owner and admins) and attempts.

Who may do what:
- any member of the room lists quizzes, reads them and submits attempts; the answer key
  (correct_index, explanation) is only shown to the room's owner and admins, because a quiz
  is taken before its answers are revealed;
- the owner and admins create, edit and delete quizzes and their questions;
- an attempt, and with it the answer key of the questions it covers, is seen only by the
  user who submitted it.

Scoring is NEET marking (+4 correct, -1 wrong, 0 unanswered) in the pure function `score`.
An attempt stores one answer row per question of the quiz at submission time (unanswered
ones with `selected_index` NULL), together with its totals, in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import require_manager, require_member
from domain.errors import Conflict, Invalid, NotFound
from models import (
    Answer,
    Attempt,
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


# --- scoring (pure) -----------------------------------------------------------------------


class Keyed(Protocol):
    """What scoring needs from a question (a `Question` row satisfies it)."""

    @property
    def id(self) -> int: ...

    @property
    def correct_index(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Choice:
    """One answer as submitted: None (or leaving the question out) means unanswered."""

    question_id: int
    selected_index: int | None


@dataclass(frozen=True, slots=True)
class Marked:
    question_id: int
    selected_index: int | None
    correct_index: int
    is_correct: bool | None  # None: unanswered
    marks: int


@dataclass(frozen=True, slots=True)
class Scored:
    score: int
    max_score: int
    correct: int
    wrong: int
    unanswered: int
    answers: tuple[Marked, ...]  # one per question, in the questions' order


def score(questions: Sequence[Keyed], choices: Sequence[Choice]) -> Scored:
    """Mark `choices` against `questions` with NEET marking.

    Every question gets exactly one `Marked` line, in the order of `questions`; a question
    missing from `choices` is unanswered. Raises Invalid when a choice names a question not
    in `questions`, names one twice, or selects an option outside 0..3.
    """
    keys = {q.id: q.correct_index for q in questions}
    selected: dict[int, int | None] = {}
    for choice in choices:
        if choice.question_id not in keys:
            raise Invalid(
                f"Question {choice.question_id} is not part of this quiz.",
                details={"question_id": choice.question_id},
            )
        if choice.question_id in selected:
            raise Invalid(
                f"Question {choice.question_id} is answered more than once.",
                details={"question_id": choice.question_id},
            )
        index = choice.selected_index
        if index is not None and not 0 <= index < OPTION_COUNT:
            raise Invalid(f"selected_index must be 0 to {OPTION_COUNT - 1} or null.")
        selected[choice.question_id] = index

    lines: list[Marked] = []
    for q in questions:
        index = selected.get(q.id)
        if index is None:
            lines.append(Marked(q.id, None, q.correct_index, None, UNANSWERED_MARKS))
        elif index == q.correct_index:
            lines.append(Marked(q.id, index, q.correct_index, True, CORRECT_MARKS))
        else:
            lines.append(Marked(q.id, index, q.correct_index, False, WRONG_MARKS))
    correct = sum(1 for m in lines if m.is_correct is True)
    wrong = sum(1 for m in lines if m.is_correct is False)
    return Scored(
        score=sum(m.marks for m in lines),
        max_score=CORRECT_MARKS * len(lines),
        correct=correct,
        wrong=wrong,
        unanswered=len(lines) - correct - wrong,
        answers=tuple(lines),
    )


# --- quizzes and questions ----------------------------------------------------------------


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


async def _quiz(session: AsyncSession, quiz_id: int) -> Quiz:
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
    quiz = await _quiz(session, quiz_id)
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
    quiz = await _quiz(session, quiz_id)
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


# --- attempts -----------------------------------------------------------------------------


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
    quiz = await _quiz(session, quiz_id)
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
    quiz = await _quiz(session, quiz_id)
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
    quiz = await _quiz(session, attempt.quiz_id)
    return attempt_result(attempt, quiz.questions)
