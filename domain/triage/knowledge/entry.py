"""The shape of one row of the knowledge table, and the wording shared between rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.triage.specialties import Code


@dataclass(frozen=True, slots=True)
class Symptom:
    """A symptom as people describe it, and which specialists it points to.

    `phrases` are synonyms and lay wordings in the phrase syntax of domain/triage/language.py;
    any one of them, not negated, makes the symptom present. `weights` add to each
    specialty's score; `chronic` adds more when the complaint is long-standing (3+ weeks or
    "on and off for months"). `urgent` alone makes the answer urgent. `generic` symptoms
    (tiredness, "feeling unwell") are too vague on their own to name a specialist.
    """

    name: str  # in the engine's own words: "stomach pain"
    phrases: tuple[str, ...]
    weights: Mapping[Code, float]
    site: str | None = None
    chronic: Mapping[Code, float] = field(default_factory=dict)
    urgent: bool = False
    generic: bool = False


WHO = "(my |the |his |her |our |their |baby s |child s )?"
HURTS = "(pain*|hurt*|ach*|sore|soreness|throbb*|sting*)"


def hurts(sites: str) -> tuple[str, ...]:
    """Lay ways of saying `sites` (a phrase alternation) hurt: "my knee is paining"."""
    return (
        f"({sites}) .. {HURTS}",
        f"(pain*|ache|aching|soreness) (in|on|at|around) {WHO}(left |right |both )?({sites})",
    )
