"""What closes a bot answer besides its text: the note and disclaimer of an answer that did
not complete, the triage info, and the doctors listed under it."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from domain.bot import store
from domain.bot.events import SpecialtyRef, TriageInfo
from domain.bot.runtime import Runtime
from domain.care.doctors import DoctorCard, for_answer
from domain.triage import DISCLAIMER, Specialty, Urgency

log = logging.getLogger("parley.bot")

_NOTES = {
    "cancelled": "(You stopped this answer here.)",
    "failed": "(Sorry, the answer could not be completed. Please try again in a moment.)",
    "interrupted": "(The answer was interrupted. Please send your message again.)",
}


def closing_body(shown: str, status: str) -> str:
    """The durable body of an answer that did not complete: what was shown, a note, and
    the disclaimer (every bot message ends with it)."""
    head = shown.rstrip() + "\n\n" if shown.strip() else ""
    return head + _NOTES[status] + "\n\n" + DISCLAIMER


def triage_info(specialty: Specialty, urgency: Urgency, provider: str, status: str,
                red_flags: tuple[str, ...] = ()) -> TriageInfo:  # fmt: skip
    return TriageInfo.model_validate(
        {
            "urgency": urgency.value,
            "specialty": SpecialtyRef(**specialty.ref()),
            "red_flags": list(red_flags),
            "provider": provider,
            "status": status,
        }
    )


async def listed_doctors(rt: Runtime, specialty: Specialty) -> list[DoctorCard] | None:
    """Up to three available doctors of the specialty, for the answer. A failed lookup
    lists none (the answer matters more than the list)."""
    try:
        async with rt.sessions() as session:
            await store.reading(session)
            return await doctors_on(session, specialty)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.warning("doctor lookup failed", extra={"error": type(exc).__name__})
        return None


async def doctors_on(session: AsyncSession, specialty: Specialty) -> list[DoctorCard] | None:
    """`listed_doctors` on a session in autocommit that the caller holds anyway."""
    try:
        return await for_answer(session, specialty.code.value) or None
    except Exception as exc:  # noqa: BLE001 - see listed_doctors
        log.warning("doctor lookup failed", extra={"error": type(exc).__name__})
        return None
