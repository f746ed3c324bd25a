"""Kidneys, bladder and the male reproductive organs."""

from __future__ import annotations

from domain.triage.knowledge.entry import Symptom
from domain.triage.specialties import Code as C

PEE = "(peeing|urinat*|urine|pee|passing urine|urination|toilet)"

SYMPTOMS: tuple[Symptom, ...] = (
    Symptom(
        "burning or pain when passing urine",
        (
            f"(burning|pain*|sting*) .. (while|when|during|on|after) {PEE}",
            f"(burning|painful|stinging) {PEE}|{PEE} .. (burn*|sting*|hurt*|pain*)",
            "dysuria|\\buti\\b|urine infection|urinary (tract )?infection",
        ),
        {C.urology: 2.5, C.general_medicine: 1, C.nephrology: 0.5, C.gynecology: 0.3},
        site="bladder",
    ),
    Symptom(
        "passing urine often",
        (
            "(peeing|urinat*|pee) (a lot|too much|too often|frequently|often|every)",
            "frequent (urination|peeing|urine)|urge to (pee|urinate)",
            "(keep|always) (need|needing|have|having|going) to (pee|urinate|the toilet)",
            "(wake|waking|get|getting) up .. night .. (pee|urinate)",
        ),
        {C.urology: 2, C.endocrinology: 1.5, C.nephrology: 0.5},
        site="bladder",
    ),
    Symptom(
        "blood in the urine",
        (
            "(blood|bloody) .. (urine|pee)|(red|pink) (urine|pee)",
            "(urine|pee) .. (red|pink|blood|bloody)|ha?ematuria",
        ),
        {C.urology: 3, C.nephrology: 1.5},
        site="bladder",
        urgent=True,
    ),
    Symptom(
        "kidney stone pain",
        (
            "(kidney|renal|urinary) stones?|stone pain|pathri|pathari",
            "pain .. (side|back|flank) .. groin",
        ),
        {C.urology: 3.5, C.nephrology: 1},
        site="kidney",
    ),
    Symptom(
        "flank pain",
        ("flank|loin|kidney (pain|area)", "(pain*|ach*) in (my |the )?sides? of (my |the )?back"),
        {C.urology: 2, C.nephrology: 2},
        site="kidney",
    ),
    Symptom(
        "kidney function problem",
        (
            "creatinine|kidney (function|failure|disease|problem|issue|damage)s?|dialysis",
            "protein in (my )?urine|(foamy|frothy) urine|\\burea\\b|\\bckd\\b|\\begfr\\b",
        ),
        {C.nephrology: 4},
        site="kidney",
    ),
    Symptom(
        "trouble passing urine",
        (
            "(cannot|can not|unable to|difficulty|trouble|not able to) (pee|urinate|pass urine)",
            "weak (urine )?stream|dribbl*|(urine|pee) .. (weak|slow)",
            "(very little|no|less|reduced) (urine|pee)|not (peeing|passing urine|urinating)",
        ),
        {C.urology: 3, C.nephrology: 1.5},
        site="bladder",
    ),
    Symptom(
        "leaking urine",
        ("(leak*|lose control) .. (urine|pee|bladder)|incontinen*", "bed ?wett*|wet (the|my) bed"),
        {C.urology: 3, C.gynecology: 0.5},
        site="bladder",
    ),
    Symptom(
        "testicle pain or swelling",
        (
            "(testicles?|testes|testis|balls|scrotum) .. (pain*|swell*|swollen|lump|hurt*|ache)",
            "(pain*|swelling|lump) in (my |the |his )?(left |right )?(testicles?|testis|balls"
            "|scrotum)",
        ),
        {C.urology: 4},
        site="testicle",
        urgent=True,
    ),
    Symptom(
        "male sexual or prostate problem",
        (
            "prostate|erect*|impoten*|(premature|early) ejaculation|penis|foreskin",
            "sperm count|night ?fall|wet dreams?|semen",
        ),
        {C.urology: 3.5},
    ),
)
