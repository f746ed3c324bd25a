"""The words the user reads: the offline answer, the emergency message, and stream chunks.

Guarantees: every text built here ends with DISCLAIMER, and `chunks(text)` joined is `text`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from domain.triage.findings import Course, Finding
from domain.triage.redflags import CATEGORY_BY_CODE, RedFlag
from domain.triage.results import Reason, Urgency
from domain.triage.specialties import Specialty

EMERGENCY_NUMBER = "112 in India"
DISCLAIMER = (
    "This is not a diagnosis. Please see a doctor about your health. In an emergency, call"
    f" your local emergency number ({EMERGENCY_NUMBER}) or go to the nearest hospital."
)
OFFLINE_LINE = (
    "This answer comes from Parley's offline triage engine (no AI model configured): it"
    " matches your words against a fixed table of symptoms."
)
VAGUE_QUESTIONS = (
    "What is the main problem you are noticing, and where in the body is it?",
    "How long has it been going on, and how bad is it on a scale of 0 to 10?",
)
_SOONER = {
    Urgency.urgent: "Please see a doctor today, or within 24 hours at the latest",
    Urgency.routine: "Book an appointment in the next few days",
}
_GENERAL_SOONER = (
    "Seek care sooner (the same day, or an emergency department) if it gets much worse, if"
    " new symptoms appear, or if you notice {watch}."
)


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def emergency_message(flags: Sequence[RedFlag]) -> str:
    """The message sent at once for a red-flag hit, before any model is called."""
    labels = _join([f.label for f in flags]) or "a red-flag symptom"
    advice = [CATEGORY_BY_CODE[c].meanwhile for c in dict.fromkeys(f.category for f in flags)]
    lines = [
        f"This may be an emergency: {labels}.",
        f"Call your local emergency number now ({EMERGENCY_NUMBER}; 108 for an ambulance in"
        " most states) or go to the nearest hospital emergency department. Do not wait to see"
        " if it gets better, and do not drive yourself.",
    ]
    if advice:
        lines.append("While you wait for help: " + " ".join(advice))
    lines.append(DISCLAIMER)
    return "\n\n".join(lines)


def _understood(present: Sequence[Finding], negated: Sequence[Finding], child: bool,
                pregnant: bool) -> str:  # fmt: skip
    if not present:
        text = "I could not recognise a specific symptom in your message"
    else:
        who = " in a child" if child else " during pregnancy" if pregnant else ""
        names = list(dict.fromkeys(f.symptom for f in present if f.symptom != "pregnancy"))
        text = f"You describe {_join(names) or 'a pregnancy question'}{who}"
        details: list[str] = []
        lead = present[0]
        if (d := next((f.duration for f in present if f.duration), None)) is not None:
            course = "long-standing" if d.course is Course.chronic else "recent"
            details.append(f"going on {d.text} ({course}{', on and off' if d.recurrent else ''})")
        if (sev := next((f.severity for f in present if f.severity is not None), None)) is not None:
            details.append(f"rated {sev}/10")
        elif lead.intensity:
            details.append(f"described as {lead.intensity}")
        if any(f.onset == "sudden" for f in present):
            details.append("starting suddenly")
        if details:
            text += ", " + _join(details)
    text += "."
    if negated:
        names = list(dict.fromkeys(f.symptom for f in negated))
        text += f" You said you do not have {_join(names)}."
    return "What I understood: " + text


def _why(specialty: Specialty, reasons: Sequence[Reason]) -> str:
    mine = [r for r in reasons if r.specialty is specialty.code]
    symptoms = list(dict.fromkeys(r.symptom for r in mine))
    words = list(dict.fromkeys(f"\u201c{r.matched}\u201d" for r in mine))
    if not symptoms:
        return ""
    return (
        f" Why: {_join(symptoms)} point{'s' if len(symptoms) == 1 else ''} to"
        f" {specialty.focus} (your words: {_join(words[:5])})."
    )


def compose_answer(
    *,
    specialty: Specialty,
    followed_from: Specialty | None,
    alternatives: Sequence[Specialty],
    urgency: Urgency,
    urgent_because: Sequence[str],
    present: Sequence[Finding],
    negated: Sequence[Finding],
    reasons: Sequence[Reason],
    clarifying: Sequence[str],
    child: bool,
    pregnant: bool,
) -> str:
    """The offline engine's plain-text answer (not used for emergencies)."""
    lines = [_understood(present, negated, child, pregnant)]
    if clarifying:
        lines.append(
            "I need a little more to suggest the right specialist. "
            + " ".join(f"({i}) {q}" for i, q in enumerate(clarifying, 1))
        )
        lines.append(
            f"Until then, a {specialty.name} is a good first step: they can examine you and"
            " refer you to the right specialist."
        )
    else:
        rec = f"Likely specialist: {specialty.name}."
        if followed_from is not None:
            rec += (
                f" Because this is about a child, start with a {specialty.name}, who can refer"
                f" on if needed (for example to: {followed_from.name})."
                + _why(followed_from, reasons)
            )
        else:
            rec += _why(specialty, reasons)
        if alternatives:
            rec += f" Also reasonable: {_join([a.name for a in alternatives])}."
        lines.append(rec)
    watched = followed_from or specialty
    lines.append(f"What to watch for: {watched.watch_for}.")
    sooner = _SOONER[urgency]
    if urgent_because:
        sooner += f" because of {_join(list(urgent_because))}"
    lines.append(f"When to seek care: {sooner}. " + _GENERAL_SOONER.format(watch=watched.watch_for))
    lines.append(OFFLINE_LINE)
    lines.append(DISCLAIMER)
    return "\n\n".join(lines)


_PIECE = re.compile(r"\s*\S+|\s+")


def chunks(text: str, max_chars: int = 12) -> list[str]:
    """Split `text` into word-ish pieces for streaming: "It", " sounds", " like", ...

    Guarantee: `"".join(chunks(text)) == text` for every str; no piece is empty; a piece
    is longer than `max_chars` only when max_chars < 1 is given (then it is one word).
    """
    pieces: list[str] = []
    for piece in _PIECE.findall(text):
        if max_chars < 1 or len(piece) <= max_chars:
            pieces.append(piece)
        else:
            pieces.extend(piece[i : i + max_chars] for i in range(0, len(piece), max_chars))
    return pieces
