"""Symptom2Specialist's deterministic core: the red-flag screen and the offline triage engine.

Pure domain code: no I/O, no framework, no logging (health data never reaches a log line).

    screen(text) -> RedFlagResult          run on every user message, before any model
    triage(text, history=()) -> TriageResult
    emergency_message(flags) -> str        the reply for a red-flag hit
    chunks(answer) -> list[str]            word-ish pieces for streaming
    SPECIALTIES, specialty_by_code(code)   the table a model's answer is validated against
"""

from domain.triage.answer import DISCLAIMER, OFFLINE_LINE, chunks, emergency_message
from domain.triage.engine import triage
from domain.triage.findings import Course, Duration, Finding
from domain.triage.redflags import RedFlag, RedFlagResult, screen
from domain.triage.results import Reason, TriageResult, Urgency
from domain.triage.specialties import SPECIALTIES, Code, Specialty, specialty_by_code

__all__ = [
    "DISCLAIMER",
    "OFFLINE_LINE",
    "SPECIALTIES",
    "Code",
    "Course",
    "Duration",
    "Finding",
    "Reason",
    "RedFlag",
    "RedFlagResult",
    "Specialty",
    "TriageResult",
    "Urgency",
    "chunks",
    "emergency_message",
    "screen",
    "specialty_by_code",
    "triage",
]
