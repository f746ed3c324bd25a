"""Routing accuracy on lay descriptions (tables in cases.py). Figures: docs/triage.md."""

from __future__ import annotations

import pytest

from domain.triage import SPECIALTIES, triage
from tests.domain.triage.cases import DESCRIPTIONS, HELD_OUT, MUST
from tests.domain.triage.measure import specialty_misses

MAIN_THRESHOLD = 0.95
HELD_OUT_THRESHOLD = 0.85


def _check(cases: tuple[tuple[str, str], ...], threshold: float) -> None:
    misses = specialty_misses(cases)
    accuracy = 1 - len(misses) / len(cases)
    listing = "\n".join(f"  {t!r}: expected {e}, got {g}" for t, e, g in misses)
    assert accuracy >= threshold, f"accuracy {accuracy:.1%} < {threshold:.0%}; misses:\n{listing}"


def test_the_tables_are_big_enough_and_name_real_specialties() -> None:
    assert len(DESCRIPTIONS) >= 60
    assert {code for _, code in DESCRIPTIONS + HELD_OUT + MUST} <= set(SPECIALTIES)
    assert len({code for _, code in DESCRIPTIONS}) >= 22


def test_accuracy_on_the_main_table() -> None:
    _check(DESCRIPTIONS, MAIN_THRESHOLD)


def test_accuracy_on_the_held_out_table() -> None:
    _check(HELD_OUT, HELD_OUT_THRESHOLD)


@pytest.mark.parametrize(("text", "expected"), MUST)
def test_must_route(text: str, expected: str) -> None:
    assert triage(text).specialty.code == expected
