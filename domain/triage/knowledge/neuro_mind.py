"""Brain, nerves and mental health."""

from __future__ import annotations

from domain.triage.knowledge.entry import Symptom
from domain.triage.specialties import Code as C

SYMPTOMS: tuple[Symptom, ...] = (
    Symptom(
        "headache",
        (
            "head ?ach*|headach*|hedache|head pain",
            "head (is )?(pain*|hurt*|ach*|pounding|throbbing|heavy)",
            "pain in (my |the |his |her )?(head|forehead|temples?)",
            "sir (mein |me )?dard|sar dard",
        ),
        {C.neurology: 2, C.general_medicine: 1.5},
        site="head",
        chronic={C.neurology: 1.5},
    ),
    Symptom(
        "migraine-like headache",
        (
            "migraine*|aura",
            "(one|one side|half) (side )?(of )?(my |the )?head .. (pain*|hurt*|throbb*)",
            "head ?ache .. (light|noise|sound) .. (hurt*|bother*|sensitiv*)",
            "(light|noise|sound) (hurts|bothers|bother)|sensitiv* to (light|noise|sound)",
        ),
        {C.neurology: 3},
        site="head",
    ),
    Symptom(
        "dizziness",
        (
            "dizz*|giddy|giddiness|light ?headed*|chakkar",
            "vertigo|room (is )?(spinning|spins)|spinning sensation|everything (is )?spinning",
            "(lose|losing|lost) (my )?balance|unsteady|off balance",
        ),
        {C.neurology: 2, C.ent: 1.5, C.general_medicine: 1, C.cardiology: 0.5},
        site="head",
    ),
    Symptom(
        "numbness or tingling",
        (
            "numb*|tingl*|pins and needles",
            "burning (feet|hands|soles)|no (feeling|sensation) in",
        ),
        {C.neurology: 2.5, C.endocrinology: 0.5},
    ),
    Symptom(
        "weakness in a limb",
        (
            "(arms?|legs?|hands?) .. (weak|weakness)",
            "weakness (in|of) (my |the |his |her )?(arms?|legs?|hands?)",
            "(cannot|unable to|not able to) (grip|hold) .. (things|objects|pen|cup)",
        ),
        {C.neurology: 3, C.orthopedics: 0.5},
    ),
    Symptom(
        "seizures",
        ("seizure*|epilep*|convuls*", "(a|had|having|has|gets|getting|get) fits?"),
        {C.neurology: 3.5},
        site="head",
    ),
    Symptom(
        "tremor",
        ("trembl*|tremor*|shaky hands|(hands?) .. (shak*|trembl*)",),
        {C.neurology: 3, C.endocrinology: 0.5},
    ),
    Symptom(
        "memory problems",
        (
            "memory (loss|problems?|issues?|is (weak|poor|bad))|forgetful*|forgetting things",
            "(cannot|can not) remember (things|names|anything)",
        ),
        {C.neurology: 2.5, C.psychiatry: 1, C.general_medicine: 0.5},
        site="head",
    ),
    Symptom(
        "twitching or facial weakness",
        ("(face|eyelid|eye) .. twitch*|twitching|facial (weakness|palsy)|bell s palsy",),
        {C.neurology: 2.5},
    ),
    Symptom(
        "anxiety",
        (
            "anxi*|panic*|nervous*|overthink*|restless*|on edge|tense all the time",
            "worr(y|ied|ying) (a lot|all the time|constantly|too much)",
            "fear of (exams?|failing|failure)|(exam|neet) (fear|phobia)",
        ),
        {C.psychiatry: 3},
    ),
    Symptom(
        "low mood",
        (
            "depress*|hopeless*|worthless",
            "(feel|feeling|felt) (very |so |really |always )?(sad|low|down|empty|numb inside)",
            "sad all the time|(lost|no) interest in|nothing (makes me|feels) (happy|good)",
            "crying (a lot|all the time|every day|for no reason)",
        ),
        {C.psychiatry: 3},
    ),
    Symptom(
        "stress",
        (
            "stress*|overwhelm*|burn(ed|t)? out|burnout",
            "(exam|neet|study|studies|board) (pressure|stress|tension)",
            "pressure .. (exams?|neet|parents|studies|results?)",
        ),
        {C.psychiatry: 2, C.general_medicine: 0.5},
    ),
    Symptom(
        "trouble sleeping",
        (
            "insomnia|sleepless*|lying awake|sleep (problems?|issues?)",
            "(cannot|unable to|not able to|trouble|difficulty|hard to) (fall )?sleep*",
            "not sleeping|no sleep|(neend|nind) (nahi|nhi)",
        ),
        {C.psychiatry: 2, C.general_medicine: 1, C.neurology: 0.5},
    ),
    Symptom(
        "poor concentration",
        (
            "(cannot|unable to|trouble|difficulty|hard to|not able to) (concentrate|focus)",
            "concentration|mind (goes )?blank|brain fog",
        ),
        {C.psychiatry: 2, C.neurology: 0.5},
    ),
    Symptom(
        "mood swings or anger",
        ("mood swings?|angry all the time|irritab*|anger (issues|problems?)|lose (my )?temper",),
        {C.psychiatry: 2},
    ),
    Symptom(
        "hearing voices or feeling watched",
        (
            "hearing voices|hallucinat*|paranoi*",
            "(hear|hearing|see|seeing) (voices|things) .. (not there|nobody else|no one else)",
            "someone is (following|watching) me",
        ),
        {C.psychiatry: 3.5},
    ),
    Symptom(
        "addiction",
        (
            "addict*|withdrawal|ganja|weed|drugs|smoking (a lot|too much)",
            "(cannot|can not) stop (drinking|smoking|using|gaming)",
        ),
        {C.psychiatry: 2.5},
    ),
    Symptom(
        "eating problems",
        (
            "binge*|anorexi*|bulimi*|afraid of (gaining|getting fat)",
            "(make|making) (my ?self) (vomit|throw up)|starv* (my ?self)",
        ),
        {C.psychiatry: 3},
    ),
    Symptom(
        "thoughts of self-harm",
        ("suicid*|self ?harm*|(kill|hurt|harm) (my ?self|myself)|end my life",),
        {C.psychiatry: 5},
    ),
)
