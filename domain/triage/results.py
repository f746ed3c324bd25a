"""What the triage engine returns. Plain frozen dataclasses: easy to store and to test."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.triage.findings import Finding
from domain.triage.redflags import RedFlag
from domain.triage.specialties import Code, Specialty


class Urgency(StrEnum):
    emergency = "emergency"  # a red flag: contact emergency services now
    urgent = "urgent"  # see a doctor today or within 24 hours
    routine = "routine"  # book an appointment


@dataclass(frozen=True, slots=True)
class Reason:
    """One explainable contribution: `matched` words meant `symptom`, worth `weight`."""

    specialty: Code
    symptom: str
    matched: str
    weight: float


@dataclass(frozen=True, slots=True)
class TriageResult:
    urgency: Urgency
    specialty: Specialty  # emergency_medicine when urgency is emergency
    red_flags: tuple[RedFlag, ...]
    findings: tuple[Finding, ...]  # present and negated, current message first
    reasons: tuple[Reason, ...]  # every scored contribution, in table order
    scores: tuple[tuple[Code, float], ...]  # positive scores, best first
    alternatives: tuple[Specialty, ...]  # other reasonable specialists, best first
    clarifying_questions: tuple[str, ...]  # non-empty when the description was too vague
    urgent_because: tuple[str, ...]  # plain-English reasons for "urgent"
    child: bool
    pregnant: bool
    answer: str  # the plain-text reply; always ends with DISCLAIMER
    provider: str = "offline"

    @property
    def red_flag_labels(self) -> tuple[str, ...]:
        return tuple(f.label for f in self.red_flags)

    def as_triage(self, status: str = "complete") -> dict[str, object]:
        """PROTOCOL.md's `triage` object for the bot's durable message."""
        return {
            "urgency": self.urgency.value,
            "specialty": self.specialty.ref(),
            "red_flags": list(self.red_flag_labels),
            "provider": self.provider,
            "status": status,
        }
