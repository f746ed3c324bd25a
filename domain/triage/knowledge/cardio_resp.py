"""Heart, lungs and blood vessels."""

from __future__ import annotations

from domain.triage.knowledge.entry import Symptom, hurts
from domain.triage.specialties import Code as C

SYMPTOMS: tuple[Symptom, ...] = (
    Symptom(
        "chest pain",
        (*hurts("chest|breast ?bone|sternum"), "heart (is )?(pain*|hurt*)", "cheast pain"),
        {C.cardiology: 3, C.general_medicine: 0.5, C.pulmonology: 0.5},
        site="chest",
    ),
    Symptom(
        "chest tightness",
        ("tight chest|chest (is |feels )?(tight|heavy|congested)", "chest tightness"),
        {C.cardiology: 1.5, C.pulmonology: 2},
        site="chest",
    ),
    Symptom(
        "palpitations",
        (
            "palpitat*",
            "heart (is )?(racing|pounding|fluttering|thumping|beating (too |very )?(fast|hard))",
            "(racing|pounding|fast|irregular) heart ?beat|heart ?beat .. (fast|irregular|skip*)",
            "heart skips|skipped beats?",
        ),
        {C.cardiology: 3, C.general_medicine: 0.5},
        site="chest",
    ),
    Symptom(
        "high blood pressure",
        (
            "(high|raised) (blood pressure|bp)|(bp|blood pressure) (is )?(high|raised|up)",
            "hypertension",
        ),
        {C.cardiology: 2, C.general_medicine: 1.5},
    ),
    Symptom(
        "high cholesterol",
        ("cholesterol|triglyceride*|lipid profile",),
        {C.cardiology: 2.5, C.general_medicine: 1},
    ),
    Symptom(
        "breathlessness",
        (
            "short(ness)? of breath|breathless*|out of breath",
            "(cannot|not able to) catch (my |his |her )?breath",
            "(difficulty|trouble|problem) (in )?breathing|hard to breathe|breathing (problem|"
            "difficulty|trouble|issue)s?",
            "(get|gets|getting) (tired|breathless) .. (stairs|walking|climbing)",
            "dyspn*|saans (phoolna|phool)",
            "breathing (gets |is |becomes )?(heavy|hard|difficult|laboured)",
        ),
        {C.pulmonology: 2.5, C.cardiology: 1.5, C.general_medicine: 0.5},
        site="chest",
    ),
    Symptom(
        "swollen legs or ankles",
        (
            "(swollen|swelling (in|of)|puffy) .. (ankles?|feet|legs?)",
            "(ankles?|feet|legs?) .. (swollen|swelling|puffy)",
            "pedal (o)?edema|(o)?edema",
        ),
        {C.cardiology: 1.5, C.nephrology: 1.5, C.vascular_surgery: 1, C.general_medicine: 0.5},
        site="legs",
    ),
    Symptom(
        "fainting",
        ("faint*|passed out|pass out|black(ed)? out|syncope", "lost consciousness"),
        {C.cardiology: 2, C.neurology: 1.5, C.general_medicine: 1},
    ),
    Symptom(
        "cough",
        ("cough*|khansi|khasi", "coughing (at night|all night|a lot)"),
        {C.pulmonology: 1.5, C.general_medicine: 1.5},
        site="chest",
        chronic={C.pulmonology: 2, C.infectious_disease: 1},
    ),
    Symptom(
        "phlegm",
        ("phlegm|sputum|mucus|cough* up (yellow|green|white|thick)|productive cough",),
        {C.pulmonology: 2, C.general_medicine: 1},
        site="chest",
    ),
    Symptom(
        "wheezing",
        (
            "wheez*",
            "whistling (sound|noise) .. (breath*|chest)",
            "asthma*|inhaler|nebuli[sz]*",
        ),
        {C.pulmonology: 3, C.allergy_immunology: 1},
        site="chest",
    ),
    Symptom(
        "smoking",
        ("smok*|cigarettes?|bidi|beedi|vap(e|ing)",),
        {C.pulmonology: 1.5, C.cardiology: 0.5},
    ),
    Symptom(
        "coughing up blood",
        ("cough* (up |out )?blood|blood in (my )?(sputum|phlegm|spit|cough)", "ha?emoptysis"),
        {C.pulmonology: 3, C.infectious_disease: 1},
        site="chest",
        urgent=True,
    ),
    Symptom(
        "night sweats",
        ("night sweats?|sweat* (at|during the|in the) night|drenched .. night",),
        {C.infectious_disease: 2, C.oncology: 1, C.pulmonology: 1},
    ),
    Symptom(
        "snoring or pauses in breathing during sleep",
        ("snor*", "(stop|stops|stopped) breathing .. (sleep|night)", "sleep apno?ea"),
        {C.pulmonology: 2, C.ent: 2},
    ),
    Symptom(
        "tuberculosis concern",
        ("tuberculosis|\\btb\\b", "koch s"),
        {C.pulmonology: 2.5, C.infectious_disease: 2.5},
        site="chest",
    ),
    Symptom(
        "chest congestion",
        ("chest congestion|congested chest|rattl* (in )?(my )?chest",),
        {C.pulmonology: 2, C.general_medicine: 1},
        site="chest",
    ),
    Symptom(
        "leg pain when walking",
        (
            "(legs?|calf|calves) .. (pain*|cramp*|hurt*) .. (walk*)",
            "(cannot|can not) walk (far|long) .. (pain|cramp*)",
            "claudication",
        ),
        {C.vascular_surgery: 3, C.cardiology: 1},
        site="legs",
    ),
    Symptom(
        "varicose veins",
        (
            "varicose|spider veins|(swollen|painful|bulging|twisted) (\\w+ )?veins",
            "veins .. (bulging|twisted|visible|swollen)",
        ),
        {C.vascular_surgery: 3, C.dermatology: 0.5},
        site="legs",
    ),
    Symptom(
        "cold, pale or blue feet or hands",
        (
            "(cold|pale|blue|purple) (and (pale|blue) )?(feet|foot|toes|fingers|hands?|legs?)",
            "(feet|foot|toes|legs?) .. (cold|pale|blue|black|turning black)",
        ),
        {C.vascular_surgery: 3, C.general_medicine: 0.5},
        site="legs",
    ),
    Symptom(
        "swollen painful calf",
        (
            "(calf|calves) .. (swollen|swelling|red|warm|tender)",
            "swollen .. calf|blood clot .. legs?|\\bdvt\\b|deep vein",
        ),
        {C.vascular_surgery: 3, C.general_medicine: 0.5},
        site="legs",
        urgent=True,
    ),
    Symptom(
        "a wound that won't heal",
        (
            "(wound|ulcer|sore|cut) .. (not|never) heal*",
            "(leg|foot) ulcer|non healing",
        ),
        {C.vascular_surgery: 2, C.endocrinology: 1, C.general_surgery: 1, C.dermatology: 0.5},
        site="legs",
    ),
)
