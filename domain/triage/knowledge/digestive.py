"""Stomach, intestines, liver, and what a general surgeon sees (hernia, piles, appendix)."""

from __future__ import annotations

from domain.triage.knowledge.entry import Symptom, hurts
from domain.triage.specialties import Code as C

BELLY = "stomach|tummy|belly|abdomen|abdominal|abdo|stomache|stomac"

SYMPTOMS: tuple[Symptom, ...] = (
    Symptom(
        "stomach pain",
        (
            *hurts(BELLY),
            "stomach ?ache|tummy ?ache|belly ?ache|stomache|abdominal pain",
            "pet (mein |me )?dard",
        ),
        {C.gastroenterology: 2.5, C.general_medicine: 1, C.general_surgery: 0.5},
        site="abdomen",
    ),
    Symptom(
        "pain in the lower right belly",
        (
            f"(lower )?right (side of (my |the )?)?(lower )?({BELLY}|side) .. (pain*|hurt*|ach*)",
            "(pain*) in (the |my )?(lower )?right (side|lower (abdomen|belly|tummy|stomach))",
            "appendi*",
        ),
        {C.general_surgery: 3, C.gastroenterology: 1},
        site="abdomen",
        urgent=True,
    ),
    Symptom(
        "vomiting",
        ("vomit*|throw* up|threw up|puk*|being sick|vomitting|vommit*|ulti|ultiyan",),
        {C.gastroenterology: 2, C.general_medicine: 1.5},
        site="abdomen",
    ),
    Symptom(
        "nausea",
        (
            "nause*|queasy|vomiting sensation|want to vomit|feel* like (vomiting|throwing up)",
            "sick to my stomach",
        ),
        {C.gastroenterology: 1.5, C.general_medicine: 1},
        site="abdomen",
    ),
    Symptom(
        "diarrhoea",
        (
            "diarr*|diarh*|dysentery",
            "loose (motions?|stools?|potty)|watery (stools?|motions?|poo|potty)|the runs",
            "(frequent|many) (motions|stools)",
        ),
        {C.gastroenterology: 2.5, C.general_medicine: 1, C.infectious_disease: 0.5},
        site="abdomen",
        chronic={C.gastroenterology: 1},
    ),
    Symptom(
        "constipation",
        (
            "constipat*|hard (stools?|motions?|poo)|no bowel movement",
            "(cannot|not able to|difficult to|difficulty|trouble) (in )?(pass|passing) "
            "(stools?|motions?|poo)",
            "straining .. (toilet|stool|potty)|not (pooped|pooping)",
            "(stools?|potty|poo|motions?) (is |are )?(very |too )?hard",
        ),
        {C.gastroenterology: 2.5, C.general_medicine: 1},
        site="abdomen",
    ),
    Symptom(
        "acidity or heartburn",
        (
            "acidity|acid reflux|heart ?burn|reflux|\\bgerd\\b|sour (burps|taste|belching)",
            "indigestion|dyspepsia|gastritis",
            "burning .. (chest|throat|stomach) .. (after (eating|meals|food)|spicy)",
            f"burn(ing|s)? .. ({BELLY})",
            f"({BELLY}) .. burn(ing|s)?",
        ),
        {C.gastroenterology: 3, C.general_medicine: 0.5},
        site="abdomen",
    ),
    Symptom(
        "bloating or gas",
        ("bloat*|gas|gassy|flatulen*|farting|burp*|belch*", f"({BELLY}) .. (full|distended|tight)"),
        {C.gastroenterology: 2.5},
        site="abdomen",
    ),
    Symptom(
        "blood in the stool",
        (
            "(blood|bleeding) .. (stools?|poo|poop|motions?|toilet paper|rectum|bottom|anus|potty)",
            "bloody (stools?|poo|motions?|diarr*)|rectal bleeding",
        ),
        {C.gastroenterology: 2.5, C.general_surgery: 2},
        site="abdomen",
        urgent=True,
    ),
    Symptom(
        "black stools",
        ("(black|tarry) .. (stools?|poo|motions?|potty)",),
        {C.gastroenterology: 3},
        site="abdomen",
        urgent=True,
    ),
    Symptom(
        "difficulty swallowing",
        (
            "(difficulty|trouble|pain|problem) (in |while |when )?swallow*",
            "(cannot|hard to|painful to|hurts to) swallow|food (gets |feels )?stuck",
            "dysphagia",
        ),
        {C.gastroenterology: 2, C.ent: 2},
        site="throat",
    ),
    Symptom(
        "piles or anal pain",
        (
            "piles|ha?emorrhoid*|fissure|fistula",
            "(pain*|itch*|lump|swelling|bleed*) .. (anus|bottom|back passage|rectum)",
        ),
        {C.general_surgery: 3, C.gastroenterology: 1},
        site="anus",
    ),
    Symptom(
        "hernia or a bulge",
        (
            "hernia",
            f"(lump|bulge|swelling) .. (groin|belly button|navel|{BELLY})",
            "(groin|navel|belly button) .. (lump|bulge|swelling)",
        ),
        {C.general_surgery: 3},
        site="abdomen",
    ),
    Symptom(
        "gallbladder pain",
        ("gall ?stones?|gall ?bladder", "pain .. (upper right|right upper) .. (after|fatty|oily)"),
        {C.general_surgery: 2.5, C.gastroenterology: 1.5},
        site="abdomen",
    ),
    Symptom(
        "jaundice",
        (
            "jaundice|piliya|pilia",
            "yellow* (of )?(the |my |his |her )?(eyes|skin)",
            "(eyes|skin) .. (yellow*|turned yellow)",
        ),
        {C.hepatology: 3, C.gastroenterology: 1.5},
        site="liver",
    ),
    Symptom(
        "liver problem",
        ("liver|hepatitis|\\bsgpt\\b|\\bsgot\\b|liver enzymes", "fatty liver"),
        {C.hepatology: 3, C.gastroenterology: 1},
        site="liver",
    ),
    Symptom(
        "dark urine",
        ("(dark|brown|cola|tea) (coloured |colored )?(urine|pee)", "(urine|pee) .. (dark|brown)"),
        {C.hepatology: 1.5, C.nephrology: 1, C.general_medicine: 0.5},
    ),
    Symptom(
        "swollen belly",
        (
            f"({BELLY}) .. (swelling|swollen|distended|fluid|getting bigger)",
            f"ascites|fluid in (the |my )?({BELLY})",
        ),
        {C.hepatology: 2, C.gastroenterology: 1},
        site="abdomen",
    ),
    Symptom(
        "heavy drinking",
        ("drink* (a lot|heavily|daily|every day)|alcohol*|drinking (alcohol|daily|heavily)",),
        {C.hepatology: 1.5, C.psychiatry: 0.5},
    ),
    Symptom(
        "poor appetite",
        (
            "(no|loss of|lost|poor|less|low|reduced|decreased) appetite",
            "not (feeling )?hungry|not eating|(do not|does not) feel like eating",
        ),
        {C.general_medicine: 1, C.gastroenterology: 1},
        generic=True,
    ),
    Symptom(
        "weight loss",
        (
            "(lost|losing|loss of) (\\d+ (kg|kgs|kilos?) )?(of )?weight|weight loss",
            "(getting|got|become|became) (very )?(thin|thinner)",
        ),
        {C.general_medicine: 1, C.oncology: 1, C.endocrinology: 1, C.gastroenterology: 0.5},
    ),
    Symptom(
        "mouth ulcers",
        (
            "mouth ulcers?|ulcers? (in|on) (my |the )?(mouth|tongue|lips?)|canker sores?",
            "sores? in (my |the )?mouth|chhal(e|a)",
        ),
        {C.dentistry: 1, C.gastroenterology: 1, C.general_medicine: 1},
        site="mouth",
    ),
)
