"""Structured cues in a description: duration, severity, onset, and who the patient is.

All functions are pure, deterministic and total. They read normalised clauses
(domain/triage/language.py), so "since 2 days" and "for 2 days" read the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from domain.triage.language import Clause, compile_phrase, find

CHRONIC_DAYS = 21  # three weeks: the usual line for "long-standing" (e.g. a cough)


class Course(StrEnum):
    acute = "acute"
    chronic = "chronic"


@dataclass(frozen=True, slots=True)
class Duration:
    text: str  # the words that stated it, normalised: "for 3 weeks"
    days: float | None  # None when only the pattern is known ("on and off")
    course: Course
    recurrent: bool  # "on and off", "comes and goes", "every month"


@dataclass(frozen=True, slots=True)
class Finding:
    """One symptom as the person described it: stored later as their symptom history."""

    symptom: str  # the engine's name for it: "stomach pain"
    body_site: str | None
    negated: bool  # "no fever": recorded, never counted
    severity: int | None  # 0-10, only when stated as a number ("7/10", "8 out of 10")
    intensity: str | None  # "mild" | "moderate" | "severe", from words
    onset: str | None  # "sudden" | "gradual"
    duration: Duration | None
    from_history: bool  # said in an earlier message of the conversation


_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "few": 3,
    "a few": 3, "couple of": 2, "a couple of": 2, "several": 4, "many": 6,
}  # fmt: skip
_UNIT_DAYS = {"minute": 1 / 1440, "hour": 1 / 24, "day": 1, "night": 1, "week": 7,
              "month": 30, "year": 365}  # fmt: skip
_AMOUNT = r"(\d+(?:\.\d+)?|a couple of|couple of|a few|few|several|many|an?|one|two|three" \
    r"|four|five|six|seven|eight|nine|ten|eleven|twelve)"  # fmt: skip
_SPAN = re.compile(
    rf"\b(?:(?:for|since|from|past|last|over|about|almost|nearly|around|the past|the last)"
    rf" )*(?:(?:more than|over|about|almost|around) )?{_AMOUNT}"
    r" (minute|hour|day|night|week|month|year)s?\b(?! old)"
)
_SINCE = {
    "since (yesterday|last night)": 1.0,
    "since (this morning|morning|today|tonight|an hour|afternoon|evening)": 0.5,
    "since (last|past) week": 7.0,
    "since (last|past) month": 30.0,
    "since (last|past) year": 365.0,
    "since (childhood|birth|i was (a )?(kid|child|young|small))|all my life|for ages": 3650.0,
    "(today|this morning|tonight|just now|an hour ago|this evening)": 0.25,
    "yesterday|last night": 1.0,
}
_PREGNANCY_AGE = re.compile(
    r"pregnan\w*(?: for)? (?:\S+ )?(?:weeks?|months?)|\S+ (?:weeks?|months?) pregnan\w*"
)
_RECURRENT = compile_phrase(
    "on and off|off and on|comes and goes|come and go|keeps coming back|again and again"
    "|every (day|week|month|morning|night|evening)|recurr*|frequently|often|daily"
    "|(many|several|few) times"
)
_LONG_WORDS = compile_phrase("for (months|years|ages|a long time)|months|years|long time|chronic")
_NUMERIC_SEVERITY = re.compile(r"\b(10|\d)(?:\.\d)? ?(?:/|out of|on a scale of) ?10\b")
_INTENSITY: tuple[tuple[str, str], ...] = (
    ("severe", "severe|very bad|really bad|terrible|unbearable|excruciating|intense|worst"
               "|extreme*|horrible|killing me|agoni[sz]ing|a lot of pain"),
    ("moderate", "moderate|quite bad|fairly bad|bad"),
    ("mild", "mild|slight*|a bit|a little|little bit|minor|not too bad"),
)  # fmt: skip
_SUDDEN = compile_phrase("sudden*|all of a sudden|out of (nowhere|the blue)|abrupt*")
_GRADUAL = compile_phrase("gradual*|slowly|over (time|the (last|past) (weeks|months))")

CHILD = compile_phrase(
    "my (baby|toddler|infant|newborn|son|daughter|child|kid|kids|little (one|boy|girl|brother"
    "|sister)|younger (brother|sister))|(baby|toddler|infant|newborn)|school going"
)
_AGE = re.compile(
    r"\b(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
    r" ?(year|yr|month|week|day)s? old\b"
)
# "i am 17", "aged 9"; "i am 20 weeks pregnant" and "she is 40 kg" are not ages.
_SELF_AGE = re.compile(
    r"\b(?:i am|age|aged|my age is|he is|she is) (\d{1,2})"
    r"(?! ?(?:kg|kgs|kilos?|cm|weeks?|days?|hours?|minutes?|months?|/|\.\d))\b"
)
ADULT_AGE = 16  # younger patients are routed to a pediatrician
PREGNANT = "pregnan*(?! test| kit)|weeks pregnant|expecting (a )?baby|trimester"


def _number(word: str) -> float:
    return float(word) if word[0].isdigit() else float(_NUMBERS.get(word, 1))


def duration_in(text: str) -> Duration | None:
    """The first stated duration in one normalised clause or sentence, if any.

    How far along a pregnancy is ("6 months pregnant") is not a symptom's duration.
    """
    text = _PREGNANCY_AGE.sub(" ", text)
    recurrent = bool(_RECURRENT.search(text))
    days: float | None = None
    found = ""
    if m := _SPAN.search(text):
        days, found = _number(m.group(1)) * _UNIT_DAYS[m.group(2)], m.group(0)
    else:
        for phrase, value in _SINCE.items():
            if s := compile_phrase(phrase).search(text):
                days, found = value, s.group(0)
                break
    if days is None:
        if not recurrent and not _LONG_WORDS.search(text):
            return None
        long_words = _LONG_WORDS.search(text)
        found = long_words.group(0) if long_words else "on and off"
        chronic = bool(long_words)
    else:
        chronic = days >= CHRONIC_DAYS
    return Duration(found, days, Course.chronic if chronic else Course.acute, recurrent)


def severity_in(text: str) -> int | None:
    """A stated 0-10 score ("7/10", "8 out of 10") in `text`, if any."""
    m = _NUMERIC_SEVERITY.search(text)
    return int(m.group(1)) if m else None


def intensity_in(text: str) -> str | None:
    for word, phrase in _INTENSITY:
        if any(not h.negated for h in find(phrase, (Clause(text, 0),))):
            return word
    return None


def onset_in(text: str) -> str | None:
    if _SUDDEN.search(text):
        return "sudden"
    if _GRADUAL.search(text):
        return "gradual"
    return None


def patient_is_child(parts: tuple[Clause, ...]) -> bool:
    """True when the description is about a child (an age under ADULT_AGE, or "my baby").

    A stated adult age wins over words like "my son" (a parent may describe a grown son).
    """
    ages: list[float] = []
    for clause in parts:
        for m in _AGE.finditer(clause.text):
            years = _number(m.group(1)) * _UNIT_DAYS[m.group(2)] / 365
            ages.append(years)
        for m in _SELF_AGE.finditer(clause.text):
            ages.append(float(m.group(1)))
    if ages:
        return min(ages) < ADULT_AGE
    return any(CHILD.search(c.text) for c in parts)


def is_pregnant(parts: tuple[Clause, ...]) -> bool:
    return any(not h.negated for h in find(PREGNANT, parts))
