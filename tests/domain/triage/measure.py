"""Print the accuracy figures quoted in docs/triage.md.

.venv/bin/python -m tests.domain.triage.measure
"""

from __future__ import annotations

from domain.triage import screen, triage
from tests.domain.triage.cases import DESCRIPTIONS, EMERGENCIES, HELD_OUT, LOOKALIKES


def specialty_misses(
    cases: tuple[tuple[str, str], ...] = DESCRIPTIONS,
) -> list[tuple[str, str, str]]:
    """(description, expected, got) for every description routed elsewhere."""
    misses = []
    for text, expected in cases:
        got = triage(text).specialty.code.value
        if got != expected:
            misses.append((text, expected, got))
    return misses


def _report(title: str, cases: tuple[tuple[str, str], ...]) -> None:
    misses = specialty_misses(cases)
    right = len(cases) - len(misses)
    print(f"{title}: {right} of {len(cases)} ({100 * right / len(cases):.1f}%)")
    for text, expected, got in misses:
        print(f"  miss: {text!r}: expected {expected}, got {got}")


def main() -> None:
    _report("specialty (main table)", DESCRIPTIONS)
    _report("specialty (held-out table)", HELD_OUT)
    caught = [t for t in EMERGENCIES if screen(t).hit]
    quiet = [t for t in LOOKALIKES if not screen(t).hit]
    print(f"emergencies caught: {len(caught)} of {len(EMERGENCIES)}")
    for text in EMERGENCIES:
        if text not in caught:
            print(f"  missed emergency: {text!r}")
    print(f"look-alikes not fired: {len(quiet)} of {len(LOOKALIKES)}")
    for text in LOOKALIKES:
        if text not in quiet:
            print(f"  false alarm: {text!r}: {screen(text).labels}")


if __name__ == "__main__":
    main()
