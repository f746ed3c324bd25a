"""The offline triage engine: a description in, a recommended specialist and an answer out.

Guarantees: `triage` is pure (no I/O, no logging: health data never reaches a log line),
deterministic (same input, same output; ties are broken by table order), and total (any
str, including NUL and lone surrogates, gives a result and never raises).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.triage.answer import VAGUE_QUESTIONS, compose_answer, emergency_message
from domain.triage.findings import (
    Course,
    Duration,
    Finding,
    duration_in,
    intensity_in,
    is_pregnant,
    onset_in,
    patient_is_child,
    severity_in,
)
from domain.triage.knowledge import SYMPTOMS, Symptom
from domain.triage.language import Clause, clauses, compile_any, find, joined
from domain.triage.redflags import RedFlag, screen
from domain.triage.results import Reason, TriageResult, Urgency
from domain.triage.specialties import SPECIALTIES, Code, Specialty, specialty

HISTORY_FACTOR = 0.5  # symptoms from earlier messages count, but less than today's words
GENERIC_FACTOR = 0.5  # "tired", "blood test": half weight next to a specific symptom
MIN_SCORE = 1.5  # below this the best guess is too weak to name a specialist
ALTERNATIVE_SHARE = 0.6  # an alternative must score at least this share of the best
URGENT_SEVERITY = 8  # "8/10" and above
FEVER_DAYS = 3  # a high fever this long is urgent
_ORDER = {code: i for i, code in enumerate(SPECIALTIES)}


@dataclass(frozen=True, slots=True)
class _Match:
    symptom: Symptom
    finding: Finding
    matched: str


def _sentence(parts: tuple[Clause, ...], sentence: int) -> str:
    return " ".join(c.text for c in parts if c.sentence == sentence)


def _first_duration(parts: tuple[Clause, ...]) -> Duration | None:
    for index in dict.fromkeys(c.sentence for c in parts):
        if (d := duration_in(_sentence(parts, index))) is not None:
            return d
    return None


def _matches(parts: tuple[Clause, ...], from_history: bool) -> list[_Match]:
    overall = _first_duration(parts)
    whole = joined(parts)
    out: list[_Match] = []
    for symptom in SYMPTOMS:
        if compile_any(symptom.phrases).search(whole) is None:
            continue  # most symptoms: one search instead of one per phrase
        hits = [h for phrase in symptom.phrases for h in find(phrase, parts, whole)]
        if not hits:
            continue
        positive = [h for h in hits if not h.negated]
        hit = positive[0] if positive else hits[0]
        clause = parts[hit.clause]
        sentence = _sentence(parts, clause.sentence)
        finding = Finding(
            symptom=symptom.name,
            body_site=symptom.site,
            negated=not positive,
            severity=severity_in(sentence),
            intensity=intensity_in(clause.text),
            onset=onset_in(sentence),
            duration=duration_in(sentence) or overall,
            from_history=from_history,
        )
        out.append(_Match(symptom, finding, hit.text))
    return out


def _merge(now: list[_Match], before: list[_Match]) -> list[_Match]:
    """Today's words first; an earlier symptom counts unless today's message negates it."""
    said_now = {m.symptom.name for m in now}
    return now + [m for m in before if m.symptom.name not in said_now]


def _new_flags(text: str, history: Sequence[str]) -> tuple[RedFlag, ...]:
    flags = list(screen(text).flags)
    if history:
        # A red flag can be spread over two messages ("chest pain" ... "now sweating").
        # The earlier messages alone are screened only when the whole conversation has a
        # flag the new message lacks: the same result, and one screen fewer for almost
        # every message (a screen is ~1 CPU-ms, docs/benchmarks.md).
        combined = screen("\n".join([*history, text])).flags
        candidates = [f for f in combined if f not in flags]
        if candidates:
            earlier = set(screen("\n".join(history)).flags)
            flags += [f for f in candidates if f not in earlier]
    return tuple(flags)


def _urgent_because(present: list[_Match]) -> list[str]:
    because = [m.symptom.name for m in present if m.symptom.urgent and not m.finding.from_history]
    now = [m.finding for m in present if not m.finding.from_history]
    if any(f.severity is not None and f.severity >= URGENT_SEVERITY for f in now):
        because.append("the severity you describe")
    elif any(f.intensity == "severe" for f in now):
        because.append("severe symptoms")
    names = {m.symptom.name for m in present}
    fever = next((m.finding for m in present if m.symptom.name == "fever"), None)
    if fever and fever.duration and fever.duration.days is not None:
        high = "high fever" in names or fever.intensity == "severe"
        if (high and fever.duration.days >= FEVER_DAYS) or fever.duration.days >= 7:
            because.append(f"a {'high ' if high else ''}fever lasting {fever.duration.text}")
    return list(dict.fromkeys(because))


def _clarifying(present: list[_Match]) -> tuple[str, ...]:
    if not present:
        return VAGUE_QUESTIONS
    names = _names(present)
    first = (
        f"Apart from {names}, do you have any other symptom, for example a fever, pain"
        " somewhere, a cough, or changes in appetite, weight, sleep or mood?"
    )
    if any(m.finding.duration for m in present):
        return (first, "Did it start suddenly or slowly, and is it getting better or worse?")
    return (first, VAGUE_QUESTIONS[1])


def _names(present: list[_Match]) -> str:
    names = list(dict.fromkeys(m.symptom.name for m in present))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def triage(text: str, history: Sequence[str] = ()) -> TriageResult:
    """Triage `text`, the latest message, given earlier messages `history` (oldest first).

    Red flags in `text` (or newly completed by it together with `history`) make the result
    an emergency whose answer is `emergency_message`. Otherwise every symptom phrase that
    matches, not negated, adds its weights to the specialties' scores; the best specialty is
    recommended, with pediatrics for a child and a clarifying question when too vague.
    """
    parts = clauses(text)
    history_parts = clauses("\n".join(history)) if history else ()
    merged = _merge(_matches(parts, False), _matches(history_parts, True))
    present = [m for m in merged if not m.finding.negated]
    negated = [m.finding for m in merged if m.finding.negated and not m.finding.from_history]
    child = patient_is_child(parts + history_parts)
    pregnant = is_pregnant(parts) or is_pregnant(history_parts)

    scores: dict[Code, float] = {}
    reasons: list[Reason] = []
    specific = [m for m in present if not m.symptom.generic]
    for m in present:
        factor = HISTORY_FACTOR if m.finding.from_history else 1.0
        if m.symptom.generic and specific:
            factor *= GENERIC_FACTOR
        weights = dict(m.symptom.weights)
        chronic = m.finding.duration is not None and m.finding.duration.course is Course.chronic
        for code, extra in m.symptom.chronic.items() if chronic else ():
            weights[code] = weights.get(code, 0.0) + extra
        for code, weight in weights.items():
            scores[code] = scores.get(code, 0.0) + weight * factor
            reasons.append(Reason(code, m.symptom.name, m.matched, weight * factor))
    ranked = sorted(
        ((c, round(s, 3)) for c, s in scores.items() if s > 0),
        key=lambda cs: (-cs[1], _ORDER[cs[0].value]),
    )

    vague = not specific or not ranked or ranked[0][1] < MIN_SCORE
    best = specialty(Code.general_medicine) if vague else specialty(ranked[0][0])
    followed_from: Specialty | None = None
    if child and best.code not in (Code.dentistry, Code.pediatrics, Code.general_medicine):
        best, followed_from = specialty(Code.pediatrics), best
    elif child:
        best = specialty(Code.dentistry if best.code is Code.dentistry else Code.pediatrics)
    alternatives: tuple[Specialty, ...] = ()
    if not vague:
        top = ranked[0][1]
        skip = {best.code} | ({followed_from.code} if followed_from else set())
        alternatives = tuple(
            specialty(c) for c, s in ranked[:3] if s >= top * ALTERNATIVE_SHARE and c not in skip
        )[:2]

    flags = _new_flags(text, history)
    because = _urgent_because(present)
    urgency = Urgency.emergency if flags else Urgency.urgent if because else Urgency.routine
    clarifying = _clarifying(present) if vague and not flags else ()
    present_findings = [m.finding for m in present]
    if flags:
        answer = emergency_message(flags)
        # The specialist for the follow-up, after the emergency care.
        follow_up = followed_from or (None if vague else best)
        alternatives = ((follow_up,) if follow_up else ()) + alternatives
        best = specialty(Code.emergency_medicine)
    else:
        answer = compose_answer(
            specialty=best,
            followed_from=followed_from,
            alternatives=alternatives,
            urgency=urgency,
            urgent_because=because,
            present=present_findings,
            negated=negated,
            reasons=reasons,
            clarifying=clarifying,
            child=child,
            pregnant=pregnant,
        )
    return TriageResult(
        urgency=urgency,
        specialty=best,
        red_flags=flags,
        findings=tuple(present_findings + negated),
        reasons=tuple(reasons),
        scores=tuple(ranked),
        alternatives=alternatives,
        clarifying_questions=clarifying,
        urgent_because=tuple(because),
        child=child,
        pregnant=pregnant,
        answer=answer,
    )
