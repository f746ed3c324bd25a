"""NEET marking as a pure function: +4 correct, -1 wrong, 0 unanswered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from domain.errors import Invalid

CORRECT_MARKS = 4
WRONG_MARKS = -1
UNANSWERED_MARKS = 0
OPTION_COUNT = 4


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
