"""The model's verdict line: never shown, however the text is split; validated."""

from __future__ import annotations

import pytest

from domain.bot.verdict import VerdictFilter, settle
from domain.triage import Urgency, triage

TEXT = "See a skin doctor.\n\nDisclaimer here.\nSPECIALTY: dermatology | URGENCY: routine"


def run(pieces: list[str]) -> tuple[str, VerdictFilter]:
    f = VerdictFilter()
    shown = "".join(f.feed(p) for p in pieces) + f.close()
    return shown, f


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 100])
def test_the_verdict_line_is_removed_whatever_the_split(size: int) -> None:
    shown, f = run([TEXT[i : i + size] for i in range(0, len(TEXT), size)])
    assert shown == "See a skin doctor.\n\nDisclaimer here."
    assert f.line == ("dermatology", "routine")


def test_prose_that_starts_like_the_verdict_is_shown() -> None:
    shown, f = run(["Specialty: hard to say", " without more.\nOK"])
    assert shown == "Specialty: hard to say without more.\nOK"
    assert f.line is None


def test_settle_never_trusts_an_unknown_specialty_or_a_lower_urgency() -> None:
    offline = triage("I have blood in my urine since yesterday")
    assert offline.urgency is Urgency.urgent
    verdict = settle(("astrology", "routine"), offline)
    assert verdict.specialty == offline.specialty and not verdict.from_model
    assert verdict.urgency is Urgency.urgent
    named = settle(("Cardiologist", "emergency"), offline)
    assert named.specialty.code.value == "cardiology" and named.urgency is Urgency.emergency
