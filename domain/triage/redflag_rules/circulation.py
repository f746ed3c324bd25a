"""Red flags of the heart, brain circulation, breathing, allergy and bleeding."""

from __future__ import annotations

from domain.triage.redflag_rules.model import Rule
from domain.triage.redflag_rules.phrases import (
    ALLERGEN,
    BREATHLESS,
    CHEST_LOOKALIKE,
    CHEST_PAIN,
    EXERTION,
    FAINTING,
    LIMB_WEAK,
    SPREADS,
    SUDDEN,
    SWEATING,
    WHO,
)

_R = Rule
RULES: tuple[Rule, ...] = (
    # heart attack
    _R(
        "heart_attack",
        "chest pain spreading to the arm or jaw",
        (CHEST_PAIN, SPREADS),
        (CHEST_LOOKALIKE,),
    ),
    _R(
        "heart_attack",
        "crushing or pressing chest pain",
        (
            "(crushing|squeezing|pressing|gripping|constricting|vice like|vise like) (chest )?"
            "(pain|pressure|feeling|sensation|tightness|heaviness)"
            "|chest .. (feels|is|like) .. (crush*|squeez*|in a vice|elephant|heavy weight)"
            f"|(elephant|heavy weight|weight) (is )?(sitting |standing )?on {WHO}chest",
            "chest|breast ?bone|heart",
        ),
    ),
    _R("heart_attack", "chest pain with sweating", (CHEST_PAIN, SWEATING), (CHEST_LOOKALIKE,)),
    _R(
        "heart_attack",
        "chest pain with breathlessness",
        (CHEST_PAIN, BREATHLESS),
        (CHEST_LOOKALIKE, EXERTION),
    ),
    _R(
        "heart_attack",
        "chest pain with fainting or dizziness",
        (CHEST_PAIN, FAINTING),
        (CHEST_LOOKALIKE,),
    ),
    _R(
        "heart_attack",
        "possible heart attack",
        ("(having|is having|am having|think .. (having|is)) a heart attack",),
    ),
    # stroke (FAST)
    _R(
        "stroke",
        "face drooping on one side",
        (
            "(face|mouth|smile|lip) .. (droop*|sag*|uneven|lopsided|crooked|twisted|fallen)"
            "|(droop*|sagging|crooked|lopsided) (face|mouth|smile)"
            f"|one side of {WHO}face .. (droop*|numb|weak|not moving|fallen|dropp*)",
        ),
    ),
    _R(
        "stroke",
        "slurred or garbled speech",
        (
            "slurr*|(speech|words|talking|speaking) .. (garbled|jumbled|gibberish|not making sense)"
            "|garbled (speech|words)|talking gibberish|suddenly (cannot|unable to) (speak|talk)",
        ),
    ),
    _R(
        "stroke",
        "sudden weakness or numbness in an arm or leg",
        (LIMB_WEAK, SUDDEN),
        ("slept on|sleeping on|lying on|lay on|gym|workout",),
    ),
    _R(
        "stroke",
        "weakness or numbness on one side of the body",
        (
            "(weak*|numb*|paraly*|cannot move) .. (one|left|right) side of (my |his |her |the )?"
            "(body|face)|(one|left|right) side of (my |his |her |the )?body .. (weak*|numb*|"
            "paraly*|not moving|dead)|half (of )?(my |his |her |the )?body .. (weak*|numb*"
            "|paraly*)",
        ),
    ),
    _R(
        "stroke",
        "sudden confusion",
        (
            "sudden* .. confus*|confus* .. sudden*|suddenly (disoriented|not making sense)"
            "|(does not|cannot|did not) recogni[sz]e (me|us|anyone|family)",
        ),
        ("exam|college|course|syllabus|question|answer|decision|choose|career|neet|chapter",),
    ),
    _R(
        "stroke",
        "sudden loss of vision",
        (
            "sudden* .. (lost|loss of|cannot see|blind*)|(lost|loss of) (my |his |her )?"
            "(vision|sight) .. sudden*|suddenly (went )?blind",
        ),
    ),
    _R(
        "stroke",
        "possible stroke",
        ("(having|had|is having|am having) a stroke(?! of)",),
        ("heat ?stroke|sun ?stroke",),
    ),
    # breathing
    _R(
        "breathing",
        "severe difficulty breathing",
        (
            "(cannot|unable to|not able to|can barely|struggling to|struggle to|fighting to)"
            " breathe(?! (properly |well |at all )?(through|from|out of|with) (my |the |his |her |"
            "one )?(nose|nostril))|(cannot|unable to) (get|take) (a |enough )?(air|breath)"
            "|(gasping|fighting|struggling) for (air|breath)|gasping",
        ),
        (
            "after (running|a run|climbing|exercise|the gym|gym|workout|sprinting)"
            "|(nose|nostril) (is |feels )?(so |very |really |completely )?(blocked|stuffy|congested"
            "|stuffed)|blocked nose|stuffy nose|nasal congestion",
        ),
    ),
    _R(
        "breathing",
        "lips or face turning blue",
        ("(lips|face|fingers|tongue) .. (blue|bluish|purple|grey|gray)|turning blue|blue lips",),
    ),
    _R("breathing", "not breathing or choking", ("not breathing|stopped breathing|choking",)),
    _R(
        "breathing",
        "too breathless to speak",
        (
            "too (breathless|short of breath) to (speak|talk|walk)|(cannot|unable to) (speak|talk)"
            " .. (breath|breathless)|(ribs|chest) .. (sucking|pulling|sinking) in",
        ),
    ),
    _R(
        "breathing",
        "severe asthma attack: inhaler not helping",
        (
            "inhaler .. (not|no) (working|helping|help|use)|severe asthma attack"
            "|(severe*|extreme*) (breathless*|short of breath|shortness of breath|difficulty"
            " breathing)",
        ),
    ),
    # anaphylaxis
    _R("anaphylaxis", "signs of anaphylaxis", ("anaphyla*|allergic shock",)),
    _R(
        "anaphylaxis",
        "throat closing up",
        ("throat .. (closing|shutting)|closing (my |his |her )?throat",),
    ),
    _R(
        "anaphylaxis",
        "swelling of the throat, tongue or lips after a trigger",
        (
            "(throat|tongue|lips?|face|mouth) .. (swell*|swollen|puff*|tight)|swollen (throat"
            "|tongue"
            "|lips?|face)",
            ALLERGEN,
        ),
    ),
    _R(
        "anaphylaxis",
        "hives or swelling with breathing trouble",
        (
            "hives|rash|welts|urticaria|itchy (bumps|skin)|swell*|swollen",
            f"{BREATHLESS}|wheez*|(difficulty|trouble) swallowing",
        ),
    ),
    # heavy bleeding
    _R(
        "bleeding",
        "bleeding that won't stop",
        (
            "(bleeding|blood|bleed*) .. (not|cannot) stop*|(not|cannot) stop (the )?(bleeding"
            "|bleed)"
            "|non ?stop bleeding|(spurting|gushing|pouring) (out )?blood"
            "|blood (is )?(spurting|gushing|pouring|everywhere)|(lot|lots|pool) of blood"
            "|losing (a lot of |lots of )?blood",
        ),
    ),
    _R(
        "bleeding",
        "bleeding soaking through pads or dressings",
        (
            "soak* (through|thru)|(pad|pads|towel|bandage|cloth|dressing)s? .. soak*",
            "blood|bleed*|pads?|bandage|dressing|period*",
        ),
    ),
    _R(
        "bleeding",
        "coughing up a lot of blood",
        ("cough* up (a lot of|lots of|cups? of|mouthfuls? of|a cup of) blood",),
    ),
    # bleeding from the gut
    _R(
        "gi_bleeding",
        "vomiting blood",
        (
            "(vomit*|throw* up|threw up|puk*) (out |up )?(some |a lot of |lots of |fresh "
            "|bright red"
            " |dark |red ){0,3}blood|blood in (my |his |her |the )?(vomit|sick)|bloody vomit"
            "|coffee ground*",
        ),
    ),
    _R(
        "gi_bleeding",
        "black, tarry stools with dizziness or fainting",
        (
            "(black|tarry|tar like|jet black) .. (stools?|poo|poop|motions?|potty|feces|faeces)"
            "|(stools?|poo|poop|motions?|potty) .. (black|tarry|like tar)",
            FAINTING,
        ),
    ),
    _R(
        "gi_bleeding",
        "heavy bleeding from the bottom with dizziness or fainting",
        (
            "(blood|bleeding) .. (stools?|poo|rectum|bottom|motions?|anus)",
            FAINTING,
            "(lot|lots) of|heavy|heavily|pouring|clots",
        ),
    ),
)
