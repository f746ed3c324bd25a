"""Ear, nose and throat; eyes; teeth and gums."""

from __future__ import annotations

from domain.triage.knowledge.entry import Symptom, hurts
from domain.triage.specialties import Code as C

SYMPTOMS: tuple[Symptom, ...] = (
    Symptom(
        "ear pain",
        (*hurts("ears?"), "ear ?ache|ear infection|kaan (mein |me )?dard"),
        {C.ent: 3.5},
        site="ear",
    ),
    Symptom(
        "ear discharge",
        (
            "(discharge|pus|fluid|liquid) .. ears?",
            "ears? .. (discharge|pus|leaking|oozing)",
            "(discharge|pus|fluid|liquid|water) (is )?(coming |leaking |oozing )?(out of"
            "|from) (my |the |his |her )?ears?",
        ),
        {C.ent: 3.5},
        site="ear",
    ),
    Symptom(
        "hearing loss",
        (
            "(cannot|can not|difficulty|trouble|hard to) hear*|hearing (loss|problem|less|reduced)",
            "deaf*|ears? (feel |feels |are |is )?(blocked|plugged|full)",
        ),
        {C.ent: 3.5},
        site="ear",
    ),
    Symptom(
        "ringing in the ears",
        ("ringing|tinnitus", "(buzzing|whistling|noise|sound) .. ears?"),
        {C.ent: 3, C.neurology: 0.5},
        site="ear",
    ),
    Symptom(
        "sore throat",
        (
            "sore throat|throat infection|tonsil*|strep|pharyngitis|gala (kharab|dard)",
            "throat .. (pain*|hurt*|sore|ach*|scratchy|itch*|red|irritat*)",
            "(pain*|hurts) .. (when|while|to) swallow*",
        ),
        {C.ent: 2.5, C.general_medicine: 1.5},
        site="throat",
    ),
    Symptom(
        "blocked or runny nose",
        (
            "(blocked|stuffy|congested|stuffed|runny|running|dripping) nose",
            "nose .. (blocked|stuffy|running|runny|congested)|nasal (congestion|discharge)",
            "sinus*|post nasal drip|catarrh",
            "(a|the|bad|common|this|head) cold|cold and (cough|fever|flu)|cough and cold",
            "(catch|catching|caught) (a )?cold|zukaam|jukam|\\bflu\\b",
        ),
        {C.ent: 2, C.general_medicine: 1.5},
        site="nose",
        chronic={C.ent: 1.5},
    ),
    Symptom(
        "nosebleeds",
        (
            "nose ?bleed*|nose (is )?bleed*|epistaxis",
            "(bleeding|blood) .. (from|out of|in) (my |the |his |her )?nose",
        ),
        {C.ent: 3.5},
        site="nose",
    ),
    Symptom(
        "hoarse voice",
        ("hoarse*|laryngitis", "(lost|losing) (my )?voice|voice .. (chang*|rough|cracking|gone)"),
        {C.ent: 3},
        site="throat",
        chronic={C.ent: 1, C.oncology: 0.5},
    ),
    Symptom(
        "loss of smell or taste",
        ("(lost|loss of|no) (sense of )?(smell|taste)|(cannot|can not) (smell|taste)",),
        {C.ent: 2, C.infectious_disease: 1, C.general_medicine: 1},
        site="nose",
    ),
    Symptom(
        "lump in the neck",
        (
            "(lump|swelling|swollen) .. (neck|under (my |the )?jaw)",
            "neck .. (lump|swelling|swollen)|swollen (glands?|lymph nodes?)",
        ),
        {C.ent: 2, C.oncology: 1, C.general_medicine: 1, C.endocrinology: 0.5},
        site="neck",
    ),
    Symptom(
        "red eye",
        ("(red|pink) eyes?|eyes? .. (red|pink|bloodshot)|conjunctivitis|pink eye|eye flu",),
        {C.ophthalmology: 3.5},
        site="eye",
    ),
    Symptom(
        "eye pain or irritation",
        (
            *hurts("eyes?"),
            "(itchy|watery|watering|sticky|burning|gritty) eyes?",
            "eyes? .. (itch*|water*|sticky|discharge|burn*|gritty|sandy|crust*)",
        ),
        {C.ophthalmology: 3.5, C.allergy_immunology: 0.5},
        site="eye",
    ),
    Symptom(
        "blurred or weak vision",
        (
            "blurr*|(vision|sight|eyesight) .. (weak|poor|bad|worse|worsening|dim|hazy|cloudy)",
            "(cannot|can not|difficulty|trouble|hard to) (see|read) (clearly|properly|far|the "
            "board|distant|small print)",
            "need glasses|spectacles|specs|(short|near|far) ?sight*|cataract|glaucoma",
        ),
        {C.ophthalmology: 3.5},
        site="eye",
    ),
    Symptom(
        "double vision",
        ("double vision|seeing double",),
        {C.ophthalmology: 2.5, C.neurology: 2},
        site="eye",
    ),
    Symptom(
        "flashes or floaters",
        ("floaters?|flash* of light|spots in (my )?vision|curtain over (my )?(vision|eye)",),
        {C.ophthalmology: 3.5},
        site="eye",
        urgent=True,
    ),
    Symptom(
        "eye injury",
        (
            "(something|dust|sand|metal|chemical|object) .. (in|into) (my |his |her )?eyes?",
            "eye injury|(hit|poked|scratched) (in )?(my |his |her |the )?eyes?",
        ),
        {C.ophthalmology: 3.5},
        site="eye",
        urgent=True,
    ),
    Symptom(
        "eyelid lump",
        ("stye|chalazion", "(eyelid|lid) .. (swell*|swollen|bump|lump|red)"),
        {C.ophthalmology: 3.5},
        site="eye",
    ),
    Symptom(
        "eye strain",
        ("eye strain|dry eyes?", "eyes? .. (tired|strain*|heavy) .. (screen|phone|laptop|study*)"),
        {C.ophthalmology: 2.5},
        site="eye",
    ),
    Symptom(
        "toothache",
        (
            *hurts("tooth|teeth|molars?|wisdom tooth"),
            "tooth ?ache|(dant|daant|daat) (mein |me )?dard",
        ),
        {C.dentistry: 4},
        site="teeth",
    ),
    Symptom(
        "gum problems",
        (
            "gums? .. (bleed*|swell*|swollen|sore|pain*|red|reced*|pus)",
            "bleeding gums?|swollen gums?|gingivitis|pyorrh?o?ea",
            "(pus|swelling|bleeding|abscess) (in|from|on) (my |the )?gums?",
        ),
        {C.dentistry: 4, C.hematology: 0.3},
        site="gums",
    ),
    Symptom(
        "tooth decay or sensitivity",
        (
            "cavit(y|ies)|decay*|root canal|filling|braces|wisdom tooth",
            "(tooth|teeth) .. (sensitiv*|broke*|chipped|cracked|loose|hole|black|yellow)",
            "sensitiv* .. (cold|hot|sweet) (water|food|drinks?)|bad breath|halitosis",
            "(loose|broken|chipped|cracked|rotten|shaking) (tooth|teeth)",
        ),
        {C.dentistry: 4},
        site="teeth",
    ),
    Symptom(
        "jaw pain or clicking",
        ("jaw .. (click*|lock*|pain*|hurt*)|\\btmj\\b", "(cannot|hard to) open (my )?mouth"),
        {C.dentistry: 2.5, C.ent: 0.5},
        site="jaw",
    ),
)
