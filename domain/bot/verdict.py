"""The model's verdict: a strict last line, filtered out of the text the user sees and
validated against the specialty table before anything is believed.

The system prompt asks the model to end with exactly

    SPECIALTY: <code> | URGENCY: <emergency|urgent|routine>

`VerdictFilter` removes that line from the streamed text without ever showing part of it:
a line that could still become the verdict line is held back until it either completes
(and is dropped) or stops looking like one (and is released). Blank lines before it are
held too, so the shown text never ends with stray newlines.

`settle` turns the parsed line into the final specialty and urgency. A model is never
trusted blindly: an unknown specialty falls back to the offline engine's choice, and the
urgency is never lower than the offline engine's (the conservative one wins).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.triage import DISCLAIMER, Specialty, TriageResult, Urgency, specialty_by_code
from domain.triage.specialties import SPECIALTIES

_LINE = re.compile(
    r"\s*\**\s*SPECIALTY\s*:\s*(?P<code>[A-Za-z_ &()-]{2,60}?)\s*\|\s*URGENCY\s*:\s*"
    r"(?P<urgency>[A-Za-z]+)\s*\**\s*",
    re.IGNORECASE,
)
_PREFIX = "specialty:"
_RANK = {Urgency.routine: 0, Urgency.urgent: 1, Urgency.emergency: 2}


def _could_be_verdict(line: str) -> bool:
    head = line.lstrip().lstrip("*").lstrip().lower().replace(" :", ":")
    return _PREFIX.startswith(head) or head.startswith(_PREFIX)


class VerdictFilter:
    """Feed raw model text, get back the text to show; `line` is the raw verdict line."""

    def __init__(self) -> None:
        self.line: tuple[str, str] | None = None  # (code, urgency) as the model wrote them
        self._line = ""  # the current line so far
        self._released = False  # the current line has been shown already
        self._held = ""  # newlines / blank lines held before the current line

    def feed(self, text: str) -> str:
        out: list[str] = []
        for part in re.split(r"(\n)", text):
            if part == "\n":
                self._end_line(out)
            elif part:
                self._line += part
                if self._released:
                    out.append(part)
                elif not _could_be_verdict(self._line):
                    out.append(self._held + self._line)
                    self._held, self._released = "", True
        return "".join(out)

    def close(self) -> str:
        """The rest of the text to show, once the model is done."""
        out: list[str] = []
        if not self._released and self._line.strip() and not self._match(self._line):
            out.append(self._held + self._line)
        self._line, self._held, self._released = "", "", False
        return "".join(out)

    def _end_line(self, out: list[str]) -> None:
        line, self._line, released, self._released = self._line, "", self._released, False
        if released:
            self._held = "\n"
        elif not line.strip():
            self._held += line + "\n"
        elif not self._match(line):
            # Looked like the verdict but is prose ("Specialty: hard to say ..."): show it.
            out.append(self._held + line)
            self._held = "\n"

    def _match(self, line: str) -> bool:
        m = _LINE.fullmatch(line)
        if m is None:
            return False
        self.line = (m.group("code"), m.group("urgency"))
        return True


@dataclass(frozen=True, slots=True)
class Verdict:
    specialty: Specialty
    urgency: Urgency
    from_model: bool  # False: the model's line was missing or named no known specialty


def _specialty(text: str) -> Specialty | None:
    found = specialty_by_code(text.strip().lower().replace(" ", "_").replace("-", "_"))
    if found is not None:
        return found
    wanted = text.strip().lower()
    return next((s for s in SPECIALTIES.values() if s.name.lower() == wanted), None)


def settle(line: tuple[str, str] | None, offline: TriageResult) -> Verdict:
    """The final specialty and urgency from the model's line and the offline fallback."""
    if line is None:
        return Verdict(offline.specialty, offline.urgency, False)
    specialty = _specialty(line[0])
    try:
        urgency = Urgency(line[1].strip().lower())
    except ValueError:
        urgency = offline.urgency
    if _RANK[offline.urgency] > _RANK[urgency]:
        urgency = offline.urgency
    if specialty is None:
        return Verdict(offline.specialty, urgency, False)
    return Verdict(specialty, urgency, True)


def ending(shown: str, verdict: Verdict) -> str:
    """What to add to a complete model answer: the recommendation when the model gave none
    we could use, and the disclaimer when it is missing. Empty when nothing is needed."""
    parts: list[str] = []
    if not verdict.from_model:
        parts.append(f"Suggested specialist: {verdict.specialty.name}.")
    if DISCLAIMER not in shown:
        parts.append(DISCLAIMER)
    if not parts:
        return ""
    return ("\n\n" if shown.strip() else "") + "\n\n".join(parts)
