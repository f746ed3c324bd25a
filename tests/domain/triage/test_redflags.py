"""The red-flag screen: every emergency fires, no look-alike does, negation is respected."""

from __future__ import annotations

import pytest

from domain.triage import screen, triage
from domain.triage.redflag_rules import CATEGORIES
from tests.domain.triage.cases import EMERGENCIES, LOOKALIKES


def test_the_tables_are_big_enough() -> None:
    assert len(EMERGENCIES) >= 40
    assert len(LOOKALIKES) >= 40


@pytest.mark.parametrize("text", EMERGENCIES)
def test_emergency_fires(text: str) -> None:
    result = screen(text)
    assert result.hit
    assert result.labels and all(label == label.strip() and label for label in result.labels)


@pytest.mark.parametrize("text", LOOKALIKES)
def test_lookalike_does_not_fire(text: str) -> None:
    assert screen(text).labels == ()


def test_every_category_is_exercised_by_the_emergency_table() -> None:
    seen = {c for text in EMERGENCIES for c in screen(text).categories}
    assert seen == {c.code for c in CATEGORIES}


@pytest.mark.parametrize(
    ("negated", "affirmed"),
    [
        ("no chest pain spreading to my arm", "chest pain spreading to my arm"),
        ("I do not have crushing chest pain", "I have crushing chest pain"),
        ("not short of breath, chest pain is mild", "short of breath with chest pain"),
        ("she denies slurred speech", "she has slurred speech"),
        ("never thought of suicide", "thinking of suicide"),
        ("no vomiting of blood", "vomiting blood"),
    ],
)
def test_negation_silences_a_flag(negated: str, affirmed: str) -> None:
    assert not screen(negated).hit
    assert screen(affirmed).hit


def test_negation_stops_at_a_clause_boundary() -> None:
    assert screen("no fever, but I have crushing chest pain").hit
    assert screen("I am not dizzy but my face is drooping").hit


def test_labels_are_short_plain_english() -> None:
    result = screen("Crushing chest pain going down my left arm!!")
    assert "chest pain spreading to the arm or jaw" in result.labels
    assert result.categories == ("heart_attack",)


def test_case_punctuation_and_contractions_do_not_matter() -> None:
    for text in ("I CAN'T BREATHE", "i cant breathe", "I can\u2019t breathe...", "cannot breathe"):
        assert screen(text).hit, text


def test_a_flag_spread_over_two_messages_is_caught() -> None:
    first = "my chest has been hurting for an hour"
    assert not screen(first).hit
    result = triage("now I am sweating a lot", history=[first])
    assert result.urgency == "emergency"
    assert "chest pain with sweating" in result.red_flag_labels


def test_an_old_flag_in_history_does_not_repeat() -> None:
    result = triage("what kind of doctor should I see about my knee", history=["I can't breathe"])
    assert result.urgency != "emergency"
