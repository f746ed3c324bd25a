"""The offline triage engine as a specification: findings, urgency, routing and answer."""

from __future__ import annotations

import logging

import pytest

from domain.triage import (
    DISCLAIMER,
    OFFLINE_LINE,
    Code,
    Course,
    Finding,
    chunks,
    screen,
    triage,
)
from domain.triage.answer import emergency_message
from domain.triage.knowledge import SYMPTOMS, phrase_count


def _finding(text: str, symptom: str) -> Finding:
    return next(f for f in triage(text).findings if f.symptom == symptom)


def test_the_knowledge_table_is_big_enough() -> None:
    assert phrase_count() >= 200
    codes = {code for s in SYMPTOMS for code in s.weights}
    assert len(codes) >= 22


# --- negation --------------------------------------------------------------------------


def test_a_negated_symptom_is_recorded_and_not_counted() -> None:
    result = triage("stomach pain since yesterday, no fever")
    fever = _finding("stomach pain since yesterday, no fever", "fever")
    assert fever.negated
    assert result.specialty.code == Code.gastroenterology
    assert all(r.symptom != "fever" for r in result.reasons)
    assert "do not have fever" in result.answer


@pytest.mark.parametrize(
    "text",
    [
        "no fever or cough, but my knee hurts",
        "I don't have a fever. My knee hurts",
        "denies fever; knee pain for a week",
        "without any fever, knee is paining",
    ],
)
def test_negation_scope(text: str) -> None:
    assert _finding(text, "fever").negated
    assert not _finding(text, "knee pain").negated


def test_a_negation_inside_a_symptom_does_not_negate_the_next_one() -> None:
    assert not _finding("no appetite and vomiting since morning", "vomiting").negated


# --- duration, severity, onset -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days", "course", "recurrent"),
    [
        ("cough for 3 weeks", 21, Course.chronic, False),
        ("cough since 2 days", 2, Course.acute, False),
        ("cough since yesterday", 1, Course.acute, False),
        ("cough on and off for months", None, Course.chronic, True),
        ("cough for two months", 60, Course.chronic, False),
        ("cough for a few days", 3, Course.acute, False),
    ],
)
def test_duration(text: str, days: float | None, course: Course, recurrent: bool) -> None:
    duration = _finding(text, "cough").duration
    assert duration is not None
    assert duration.days == days
    assert duration.course == course
    assert duration.recurrent is recurrent


def test_no_duration_when_none_is_stated() -> None:
    assert _finding("I have a cough", "cough").duration is None


def test_how_far_along_a_pregnancy_is_not_a_duration() -> None:
    assert _finding("I am 6 months pregnant with a headache", "headache").duration is None


@pytest.mark.parametrize(
    ("text", "severity", "intensity"),
    [
        ("back pain 7/10", 7, None),
        ("back pain, 8 out of 10", 8, None),
        ("severe back pain", None, "severe"),
        ("mild back pain", None, "mild"),
    ],
)
def test_severity(text: str, severity: int | None, intensity: str | None) -> None:
    finding = _finding(text, "back pain")
    assert finding.severity == severity
    assert finding.intensity == intensity


def test_body_site_and_onset() -> None:
    finding = _finding("my knee started hurting suddenly", "knee pain")
    assert finding.body_site == "knee"
    assert finding.onset == "sudden"


# --- urgency -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "high fever for 4 days",
        "blood in my urine",
        "back pain 9/10",
        "unbearable stomach pain",
        "fever for 8 days",
    ],
)
def test_urgent(text: str) -> None:
    result = triage(text)
    assert result.urgency == "urgent"
    assert result.urgent_because


@pytest.mark.parametrize("text", ["mild knee pain for a week", "fever since yesterday"])
def test_routine(text: str) -> None:
    assert triage(text).urgency == "routine"


def test_a_red_flag_makes_an_emergency_with_the_emergency_message() -> None:
    text = "crushing chest pain and sweating"
    result = triage(text)
    assert result.urgency == "emergency"
    assert result.specialty.code == Code.emergency_medicine
    assert result.answer == emergency_message(screen(text).flags)
    assert "112" in result.answer
    assert result.alternatives[0].code == Code.cardiology  # the follow-up
    assert result.as_triage()["red_flags"] == list(screen(text).labels)


# --- pediatrics and pregnancy ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "my 4 year old has an ear ache",
        "my baby has a rash",
        "my son, 7 years old, has stomach pain",
        "my daughter aged 9 has itchy eyes",
        "my 10 month old has loose motions",
    ],
)
def test_a_child_goes_to_a_pediatrician(text: str) -> None:
    result = triage(text)
    assert result.child
    assert result.specialty.code == Code.pediatrics
    assert "Pediatrician" in result.answer


def test_a_grown_son_is_not_a_child() -> None:
    result = triage("my son is 25 years old and has knee pain")
    assert not result.child
    assert result.specialty.code == Code.orthopedics


def test_a_childs_toothache_still_goes_to_the_dentist() -> None:
    assert triage("my 6 year old has a toothache").specialty.code == Code.dentistry


def test_the_child_context_can_come_from_history() -> None:
    result = triage("now he is vomiting", history=["my 3 year old son has fever"])
    assert result.specialty.code == Code.pediatrics


def test_pregnancy_goes_to_an_obstetrician() -> None:
    result = triage("I am 20 weeks pregnant and have a headache")
    assert result.pregnant
    assert result.specialty.code == Code.obstetrics


# --- the answer --------------------------------------------------------------------------


ANSWERS = [
    "stomach pain since 2 days",
    "my 4 year old has fever",
    "I feel unwell",
    "",
    "crushing chest pain",
    "asdf qwerty",
]


@pytest.mark.parametrize("text", ANSWERS)
def test_the_answer_always_ends_with_the_disclaimer(text: str) -> None:
    answer = triage(text).answer
    assert answer.endswith(DISCLAIMER)
    assert "not a diagnosis" in DISCLAIMER and "112" in DISCLAIMER


@pytest.mark.parametrize("text", [t for t in ANSWERS if t != "crushing chest pain"])
def test_the_offline_engine_says_so(text: str) -> None:
    assert OFFLINE_LINE in triage(text).answer
    assert "no AI model configured" in OFFLINE_LINE


def test_the_answer_explains_itself() -> None:
    result = triage("my ear is paining and there is pus coming out of my ear")
    assert result.specialty.code == Code.ent
    assert "What I understood: You describe ear pain and ear discharge" in result.answer
    assert "Likely specialist: ENT Specialist" in result.answer
    assert "\u201cear is paining\u201d" in result.answer  # the words that matched
    assert "What to watch for:" in result.answer
    assert "When to seek care:" in result.answer
    assert {r.specialty for r in result.reasons} >= {Code.ent}


@pytest.mark.parametrize("text", ["", "hello", "I feel unwell", "I am tired", "help me doctor"])
def test_too_vague_asks_and_recommends_a_general_physician(text: str) -> None:
    result = triage(text)
    assert result.specialty.code == Code.general_medicine
    assert 1 <= len(result.clarifying_questions) <= 2
    assert all(q.endswith("?") and q in result.answer for q in result.clarifying_questions)


def test_a_clear_description_asks_nothing() -> None:
    assert triage("toothache in my molar").clarifying_questions == ()


@pytest.mark.parametrize("text", [*ANSWERS, "  spaces  around  ", "a\n\nb\tc", "x" * 50])
def test_chunks_join_back_to_the_exact_text(text: str) -> None:
    answer = triage(text).answer
    pieces = chunks(answer)
    assert "".join(pieces) == answer
    assert all(pieces) and len(pieces) > 10
    assert "".join(chunks(text)) == text


def test_chunks_are_word_ish() -> None:
    assert chunks("It sounds like a cold.") == ["It", " sounds", " like", " a", " cold."]
    assert all(len(p) <= 12 for p in chunks("x" * 40))


def test_as_triage_matches_the_protocol() -> None:
    obj = triage("burning while peeing").as_triage()
    assert obj == {
        "urgency": "routine",
        "specialty": {"code": "urology", "name": "Urologist"},
        "red_flags": [],
        "provider": "offline",
        "status": "complete",
    }


def test_nothing_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        triage("my private symptom: crushing chest pain", history=["secret earlier message"])
        screen("another private message")
    assert caplog.records == []
