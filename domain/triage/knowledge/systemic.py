"""Whole-body complaints: fevers and infections, hormones, blood, cancer, and children."""

from __future__ import annotations

from domain.triage.knowledge.entry import Symptom
from domain.triage.specialties import Code as C

SYMPTOMS: tuple[Symptom, ...] = (
    Symptom(
        "fever",
        ("fever*|feverish|feaver|fevar|fiver|bukhar|bukhaar|pyrexia", "(high )?temperature"),
        {C.general_medicine: 2.5, C.infectious_disease: 1},
        chronic={C.infectious_disease: 3},
    ),
    Symptom(
        "high fever",
        (
            "(high|very high|raging|high grade) (grade )?(fever|temperature)",
            "fever .. (10[2-6]|39|40)|10[2-6](\\.\\d)? ?(f|degrees?)|(39|40)(\\.\\d)? ?(c"
            "|degrees?)",
        ),
        {C.general_medicine: 1, C.infectious_disease: 1.5},
    ),
    Symptom(
        "chills",
        ("chills|shivering|rigors?|shaking with (cold|fever)|kapkapi",),
        {C.infectious_disease: 1.5, C.general_medicine: 1},
    ),
    Symptom(
        "tiredness",
        (
            "tired*|fatigue*|exhaust*|lethargic|drained|kamzori|weakness",
            "(no|low) energy|sleepy all (day|the time)|(feel|feeling|very) weak",
        ),
        {C.general_medicine: 1.5, C.endocrinology: 0.5, C.hematology: 0.5},
        generic=True,
    ),
    Symptom(
        "feeling unwell",
        (
            "(feel|feeling|felt) (unwell|sick|ill|bad|off|terrible|awful|rotten)",
            "not feeling (well|good)|under the weather|unwell|something (is )?wrong",
        ),
        {C.general_medicine: 1},
        generic=True,
    ),
    Symptom(
        "dengue, malaria or typhoid concern",
        ("dengue|malaria|typhoid|chikungunya|widal", "mosquito bites? .. fever"),
        {C.infectious_disease: 3.5, C.general_medicine: 1},
    ),
    Symptom(
        "low platelets",
        ("platelets? .. (low|less|down|dropp*|falling)|low platelets?",),
        {C.hematology: 2, C.infectious_disease: 1.5},
    ),
    Symptom(
        "weight gain",
        (
            "(gain*|gaining|put on|putting on) (a lot of |\\d+ (kg|kgs|kilos?) )?weight",
            "weight gain|obes*|overweight|(getting|become|became) fat",
        ),
        {C.endocrinology: 2, C.general_medicine: 1},
    ),
    Symptom(
        "thyroid problem",
        (
            "thyroid|hypothyroid*|hyperthyroid*|goit(er|re)|\\btsh\\b",
            "swelling .. front of .. neck",
        ),
        {C.endocrinology: 4},
        site="neck",
    ),
    Symptom(
        "diabetes or blood sugar",
        (
            "diabet*|sugar patient|madhumeh|hba1c|insulin",
            "(blood )?sugar (is |level |levels )?(high|low|up)|(high|low) (blood )?sugar",
        ),
        {C.endocrinology: 3, C.general_medicine: 1},
    ),
    Symptom(
        "excessive thirst",
        ("(very |always |extremely )?thirsty|thirst|drink* (a lot of|lots of) water|dry mouth",),
        {C.endocrinology: 2, C.general_medicine: 0.5, C.nephrology: 0.5},
    ),
    Symptom(
        "heat or cold intolerance",
        ("(cannot|can not) (tolerate|stand|bear) (the )?(heat|cold)|(heat|cold) intolerance",),
        {C.endocrinology: 2.5},
    ),
    Symptom(
        "hormone or growth concern",
        (
            "hormon*|short (height|stature)|not growing|puberty",
            "(facial|excess|unwanted) hair|hirsutism",
        ),
        {C.endocrinology: 3, C.gynecology: 0.5},
    ),
    Symptom(
        "anaemia",
        (
            "ana?emi*|low (hb|ha?emoglobin|iron|blood count)|ha?emoglobin .. (low|less)",
            "(pale|paleness|looks? pale)|iron deficiency|khoon ki kami",
        ),
        {C.hematology: 3, C.general_medicine: 1.5},
    ),
    Symptom(
        "easy bruising or bleeding",
        (
            "bruis* (easily|a lot)|easily bruis*|unexplained (bruis*|bleeding)",
            "bruises? .. (no reason|without)|petechiae|blood (clotting|disorder)",
            "ha?emophilia|thalass*|sickle cell",
        ),
        {C.hematology: 4},
    ),
    Symptom(
        "swollen lymph nodes",
        ("(swollen|enlarged) (lymph nodes?|glands?) .. (armpit|groin|all over)|lymph nodes?",),
        {C.hematology: 1.5, C.oncology: 1.5, C.infectious_disease: 1, C.ent: 0.5},
    ),
    Symptom(
        "a lump",
        ("lump|lumps|tumou?r|swelling (that is |is )?(growing|getting bigger)",),
        {C.oncology: 1, C.general_surgery: 1, C.general_medicine: 0.5},
    ),
    Symptom(
        "cancer concern",
        ("cancer|malignan*|chemo*|radiation therapy|biopsy|oncolog*|metasta*",),
        {C.oncology: 5},
    ),
    Symptom(
        "infection",
        ("infection|infected|bacteria*|viral|virus",),
        {C.infectious_disease: 1, C.general_medicine: 1},
        generic=True,
    ),
    Symptom(
        "sexually transmitted infection concern",
        (
            "\\bhiv\\b|\\baids\\b|\\bstds?\\b|\\bstis?\\b|sexually transmitted|unprotected sex",
            "syphilis|gonorr*|herpes|genital (sores?|warts?|ulcers?)",
        ),
        {C.infectious_disease: 3, C.dermatology: 0.5, C.urology: 0.5, C.gynecology: 0.5},
    ),
    Symptom(
        "animal bite",
        (
            "(dog|cat|monkey|animal|rat) (bite|bit|scratch*)|bitten by a (dog|cat|monkey|rat)"
            "|rabies",
        ),
        {C.infectious_disease: 3, C.general_medicine: 1},
        urgent=True,
    ),
    Symptom(
        "fever after travel or worms",
        ("(travel*|trip|returned) .. (fever|sick|ill)", "(stomach |intestinal )?worms?"),
        {C.infectious_disease: 2.5},
    ),
    Symptom(
        "chickenpox, measles or mumps",
        ("chicken ?pox|measles|mumps|(blisters?|spots?) all over",),
        {C.infectious_disease: 2.5, C.dermatology: 1},
    ),
    Symptom(
        "dehydration or heat illness",
        ("dehydrat*|sunken eyes|heat ?stroke|sun ?stroke|heat exhaustion",),
        {C.general_medicine: 2.5},
        urgent=True,
    ),
    Symptom(
        "check-up or test results",
        ("check ?up|vaccin*|(blood|health) (tests?|reports?)|medical certificate",),
        {C.general_medicine: 2},
        generic=True,
    ),
    Symptom(
        "baby feeding or development concern",
        (
            "not feeding|(not|refus*) (feeding|breastfeeding|drinking milk|taking feeds)",
            "teething|colic|crying (non ?stop|inconsolably|all night)|(nappy|diaper) rash",
            "milestones?|not (walking|talking) yet|vaccination schedule",
        ),
        {C.pediatrics: 4},
    ),
)
