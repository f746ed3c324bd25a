"""Skin, hair and nails; allergies and immunity."""

from __future__ import annotations

from domain.triage.knowledge.entry import Symptom
from domain.triage.specialties import Code as C

SYMPTOMS: tuple[Symptom, ...] = (
    Symptom(
        "rash",
        (
            "rash*|eruption",
            "red (spots|patches|bumps)|skin (is )?(red|irritat*|inflamed)",
            "spots (on|all over) (my |his |her )?(skin|body|arms?|legs?|face|back)",
        ),
        {C.dermatology: 2.5, C.general_medicine: 0.5},
        site="skin",
    ),
    Symptom(
        "itching",
        ("itch*|khujli|scratching",),
        {C.dermatology: 2.5, C.allergy_immunology: 0.5},
        site="skin",
    ),
    Symptom(
        "acne",
        ("acne|pimples?|zits?|break ?outs?|blackheads?|whiteheads?",),
        {C.dermatology: 3.5},
        site="skin",
    ),
    Symptom(
        "hair loss",
        (
            "hair ?fall|hair (is )?falling|hair loss|losing (my )?hair|bald*",
            "thinning hair|hair (is )?thinning|dandruff",
        ),
        {C.dermatology: 3.5, C.endocrinology: 0.5},
        site="scalp",
    ),
    Symptom(
        "dry or scaly skin",
        ("eczema|psoriasis|dermatitis", "dry (skin|patches)|(flaky|scaly|peeling|cracked) skin"),
        {C.dermatology: 3},
        site="skin",
    ),
    Symptom(
        "fungal infection",
        (
            "fungal|ringworm|ring worm|daad|jock itch|athlete s foot|tinea",
            "(round|circular) (red )?(patch*|rash)",
        ),
        {C.dermatology: 3.5},
        site="skin",
    ),
    Symptom(
        "hives",
        ("hives|urticaria|welts|itchy (bumps|swelling)",),
        {C.allergy_immunology: 2.5, C.dermatology: 2},
        site="skin",
    ),
    Symptom(
        "skin colour changes",
        (
            "(white|dark) (patches|spots) on (my |his |her )?(skin|face|body|hands?)",
            "vitiligo|pigmentation|melasma|dark circles|tanning",
        ),
        {C.dermatology: 3},
        site="skin",
    ),
    Symptom(
        "a changing mole",
        ("mole .. (chang*|grow*|bleed*|bigger|irregular|dark*)", "(new|changing|growing) mole"),
        {C.dermatology: 3, C.oncology: 1.5},
        site="skin",
    ),
    Symptom(
        "boil or abscess",
        (
            "boils?|abscess*|cellulitis",
            "(swelling|lump) .. pus|pus .. (skin|swelling|lump)",
            "infected (wound|cut)",
        ),
        {C.general_surgery: 2, C.dermatology: 1.5, C.general_medicine: 1},
        site="skin",
    ),
    Symptom(
        "nail problems",
        ("nails? .. (fung*|discolou?r*|brittle|break*|yellow)", "ingrown (toe)?nails?"),
        {C.dermatology: 2.5, C.general_surgery: 0.5},
        site="nails",
    ),
    Symptom(
        "warts or skin growths",
        ("warts?|corns?|calluses?|skin tags?",),
        {C.dermatology: 3},
        site="skin",
    ),
    Symptom(
        "excessive sweating",
        ("sweat* (a lot|too much|excessively|heavily)|excessive sweating|hyperhidrosis",),
        {C.dermatology: 2, C.endocrinology: 1.5},
        site="skin",
    ),
    Symptom(
        "allergy",
        (
            "allerg*|hay fever",
            "(runny|running|itchy) nose .. (dust|pollen|season*)|dust allergy",
        ),
        {C.allergy_immunology: 3, C.ent: 1},
    ),
    Symptom(
        "sneezing",
        ("sneez*|chheenk*",),
        {C.allergy_immunology: 2, C.ent: 1.5, C.general_medicine: 0.5},
        site="nose",
    ),
    Symptom(
        "swelling of the lips or face",
        ("lips? .. (swell*|swollen)|(face|eyes) (are |is )?puffy|swollen (lips?|face)",),
        {C.allergy_immunology: 2.5, C.dermatology: 0.5},
        site="face",
    ),
    Symptom(
        "reaction to a food",
        (
            "(after|when i) (eat|eating|drink|drinking|have|having) (milk|wheat|peanuts?|nuts|eggs?"
            "|seafood|prawns?|fish|gluten)",
            "(milk|wheat|peanuts?|nuts|eggs?|seafood|prawns?|gluten|lactose) (does not|do not)"
            " suit",
            "(lactose|gluten) intoleran*",
        ),
        {C.allergy_immunology: 2.5, C.gastroenterology: 1},
    ),
    Symptom(
        "frequent infections",
        (
            "(frequent|recurrent|repeated|keep getting|always getting|often get) (\\w+ ){0,2}"
            "(infections?|colds?|fevers?)",
            "(low|weak|poor) immunity",
        ),
        {C.allergy_immunology: 2.5, C.general_medicine: 1},
    ),
)
