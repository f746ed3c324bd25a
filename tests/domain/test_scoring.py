"""NEET marking (domain/scoring.py): a pure function, +4 / -1 / 0."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from domain.errors import Invalid
from domain.scoring import Choice, score


@dataclass(frozen=True)
class Key:
    id: int
    correct_index: int


FOUR = [Key(1, 0), Key(2, 1), Key(3, 2), Key(4, 3)]


def test_all_correct_scores_four_each() -> None:
    scored = score(FOUR, [Choice(q.id, q.correct_index) for q in FOUR])
    assert (scored.score, scored.max_score) == (16, 16)
    assert (scored.correct, scored.wrong, scored.unanswered) == (4, 0, 0)
    assert [m.marks for m in scored.answers] == [4, 4, 4, 4]
    assert all(m.is_correct is True for m in scored.answers)


def test_each_wrong_answer_costs_one_mark() -> None:
    scored = score(FOUR, [Choice(1, 3), Choice(2, 0)])
    assert scored.score == -2
    assert (scored.correct, scored.wrong, scored.unanswered) == (0, 2, 2)
    assert [m.is_correct for m in scored.answers] == [False, False, None, None]


def test_unanswered_scores_zero_whether_null_or_left_out() -> None:
    scored = score(FOUR, [Choice(1, None)])
    assert (scored.score, scored.max_score) == (0, 16)
    assert scored.unanswered == 4
    assert [(m.selected_index, m.is_correct, m.marks) for m in scored.answers] == [
        (None, None, 0)
    ] * 4


def test_two_correct_one_wrong_one_unanswered_scores_seven() -> None:
    scored = score(FOUR, [Choice(1, 0), Choice(2, 1), Choice(3, 0), Choice(4, None)])
    assert scored.score == 7
    assert (scored.correct, scored.wrong, scored.unanswered) == (2, 1, 1)
    assert [m.marks for m in scored.answers] == [4, 4, -1, 0]


def test_marked_answers_follow_question_order_not_submission_order() -> None:
    scored = score(FOUR, [Choice(4, 3), Choice(2, 1)])
    assert [m.question_id for m in scored.answers] == [1, 2, 3, 4]
    assert [m.correct_index for m in scored.answers] == [0, 1, 2, 3]


def test_scoring_refuses_a_question_outside_the_quiz() -> None:
    with pytest.raises(Invalid, match="not part of this quiz"):
        score(FOUR, [Choice(99, 0)])


def test_scoring_refuses_the_same_question_twice() -> None:
    with pytest.raises(Invalid, match="more than once"):
        score(FOUR, [Choice(1, 0), Choice(1, 0)])


def test_scoring_refuses_an_option_outside_zero_to_three() -> None:
    with pytest.raises(Invalid, match="selected_index"):
        score(FOUR, [Choice(1, 4)])
