"""The knowledge table: every Symptom the offline engine recognises, by body system.

The order of SYMPTOMS is part of the determinism guarantee (ties are broken by order).
"""

from __future__ import annotations

from domain.triage.knowledge import (
    cardio_resp,
    digestive,
    musculoskeletal,
    neuro_mind,
    senses,
    skin_allergy,
    systemic,
    urinary,
    womens_health,
)
from domain.triage.knowledge.entry import Symptom

SYMPTOMS: tuple[Symptom, ...] = (
    *cardio_resp.SYMPTOMS,
    *digestive.SYMPTOMS,
    *neuro_mind.SYMPTOMS,
    *skin_allergy.SYMPTOMS,
    *senses.SYMPTOMS,
    *musculoskeletal.SYMPTOMS,
    *urinary.SYMPTOMS,
    *womens_health.SYMPTOMS,
    *systemic.SYMPTOMS,
)


def phrase_count() -> int:
    """How many phrases (synonym entries) the table holds."""
    return sum(len(s.phrases) for s in SYMPTOMS)


__all__ = ["SYMPTOMS", "Symptom", "phrase_count"]
