"""Gynecology and pregnancy."""

from __future__ import annotations

from domain.triage.knowledge.entry import Symptom
from domain.triage.specialties import Code as C

PERIOD = "(periods?|menses|menstrual|menstruation|mc|chums)"

SYMPTOMS: tuple[Symptom, ...] = (
    Symptom(
        "period pain",
        (
            f"{PERIOD} (pain|cramps?)|painful {PERIOD}|dysmenorrh*",
            f"(pain|cramps?) .. (during|in|before|with) (my )?{PERIOD}",
            f"cramps? .. {PERIOD}",
        ),
        {C.gynecology: 3.5},
        site="pelvis",
    ),
    Symptom(
        "irregular or missed periods",
        (
            f"irregular {PERIOD}|irregular cycles?|missed (my )?{PERIOD}|no {PERIOD}",
            f"{PERIOD} .. (irregular|late|delayed|not regular|stopped|missed|skip*|not come|"
            "every (two|three|2|3) months)",
            "pcod|pcos|polycystic",
        ),
        {C.gynecology: 3.5, C.endocrinology: 1},
        site="pelvis",
    ),
    Symptom(
        "heavy periods",
        (
            f"heavy ({PERIOD}|flow)|{PERIOD} .. (heavy|clots)|menorrh*",
            f"bleeding (between|after) ({PERIOD}|sex|intercourse)",
        ),
        {C.gynecology: 3.5, C.hematology: 0.5},
        site="pelvis",
    ),
    Symptom(
        "vaginal discharge or itching",
        (
            "(vaginal|white) discharge|leucorrh*|yeast infection|thrush",
            "discharge .. (vagina*|down there|private part*)",
            "(itch*|burning|smell*) .. (vagina*|private (parts?|area)|down there)",
        ),
        {C.gynecology: 3.5},
        site="pelvis",
    ),
    Symptom(
        "pelvic pain",
        ("pelvic (pain|area)|ovar(y|ian)|fibroids?|uterus|endometriosis", "(pain*|ache) .. pelvis"),
        {C.gynecology: 3},
        site="pelvis",
    ),
    Symptom(
        "breast lump or pain",
        (
            "breasts? .. (lump|pain*|swell*|discharge|tender*|hurt*)|lump in (my )?breasts?",
            "nipples? .. (discharge|bleed*|inverted)",
        ),
        {C.gynecology: 3, C.oncology: 1, C.general_surgery: 1.5},
        site="breast",
    ),
    Symptom(
        "contraception or fertility",
        (
            "contracepti*|birth control|missed pill|emergency pill|i ?pill|copper t",
            "(trying|want|unable|not able) .. (conceive|get pregnant)|infertil*",
        ),
        {C.gynecology: 3, C.obstetrics: 1},
        site="pelvis",
    ),
    Symptom(
        "menopause symptoms",
        ("menopaus*|hot (flash|flush)*",),
        {C.gynecology: 3},
    ),
    Symptom(
        "pregnancy",
        (
            "pregnan*(?! test| kit)|weeks pregnant|expecting (a )?baby|trimester",
            "antenatal|prenatal|morning sickness|baby (kicks|movements)|due date|garbh",
        ),
        {C.obstetrics: 4},
        site="pelvis",
    ),
    Symptom(
        "spotting or bleeding in pregnancy",
        ("pregnan* .. (bleed*|spotting)", "(bleed*|spotting) .. pregnan*"),
        {C.obstetrics: 2, C.gynecology: 1},
        site="pelvis",
        urgent=True,
    ),
)
