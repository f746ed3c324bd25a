"""Bones, joints and muscles."""

from __future__ import annotations

from domain.triage.knowledge.entry import Symptom, hurts
from domain.triage.specialties import Code as C

SYMPTOMS: tuple[Symptom, ...] = (
    Symptom(
        "back pain",
        (
            *hurts("(lower |upper |middle )?back|spine|kamar|waist"),
            "back ?ache|lumbago|slipped disc|disc (bulge|prolapse)|kamar (mein |me )?dard",
        ),
        {C.orthopedics: 3, C.general_medicine: 0.5},
        site="back",
    ),
    Symptom(
        "neck pain",
        (*hurts("neck"), "stiff neck|neck stiffness|cervical"),
        {C.orthopedics: 2.5, C.general_medicine: 0.5},
        site="neck",
    ),
    Symptom(
        "pain shooting down the leg",
        (
            "sciatica",
            "(pain|shooting|radiat*) .. (down|into|through) (my |the )?(legs?|buttocks?|thighs?)",
        ),
        {C.orthopedics: 2.5, C.neurology: 1},
        site="back",
    ),
    Symptom(
        "knee pain",
        (*hurts("knees?|ghutna|ghutne"),),
        {C.orthopedics: 3, C.rheumatology: 0.5},
        site="knee",
    ),
    Symptom(
        "shoulder pain",
        (*hurts("shoulders?"), "frozen shoulder|rotator cuff"),
        {C.orthopedics: 3},
        site="shoulder",
    ),
    Symptom(
        "hip pain",
        hurts("hips?"),
        {C.orthopedics: 3},
        site="hip",
    ),
    Symptom(
        "sprain",
        (
            "sprain*|twist* (my |his |her )?(ankle|wrist|knee)|rolled (my )?ankle",
            "(ankle|wrist) .. (swollen|swelling|twist*)",
        ),
        {C.orthopedics: 3.5},
    ),
    Symptom(
        "possible fracture",
        (
            "fractur*|broken (bone|arm|leg|wrist|ankle|finger|toe|collar ?bone)",
            "broke (my |his |her )?(arm|leg|wrist|ankle|finger|toe|bone)|bone .. (broken|cracked)",
            "(cannot|can not|unable to) (put weight|stand|walk) on",
        ),
        {C.orthopedics: 4},
        urgent=True,
    ),
    Symptom(
        "sports or fall injury",
        (
            "(sports?|football|cricket|gym|running|kabaddi) injur*",
            "injured (my |his |her )?(knee|ankle|shoulder|leg|arm|back|wrist)",
            "ligament|\\bacl\\b|tendon*|muscle (pull|strain|tear)|pulled (a )?muscle|hamstring",
        ),
        {C.orthopedics: 3.5},
    ),
    Symptom(
        "body aches or cramps",
        (
            "(muscles?) .. (pain*|ach*|cramp*|sore)|cramp*|myalgia",
            "body ?ache|body pain*|aching all over|badan dard",
        ),
        {C.general_medicine: 1.5, C.orthopedics: 0.5, C.rheumatology: 0.5},
        generic=True,
    ),
    Symptom(
        "joint pain",
        (
            "joints? .. (pain*|ach*|hurt*|stiff*)|(pain*|ache) in (my |the |all )?joints",
            "arthritis|jod(o|on) (ka |mein |me )?dard",
        ),
        {C.rheumatology: 2.5, C.orthopedics: 1.5},
        site="joints",
    ),
    Symptom(
        "swollen joints",
        (
            "(joints?|knuckles?|fingers?|wrists?|toes?|big toe) .. (swollen|swelling|puffy|hot)",
            "swollen (joints?|fingers?|knuckles?)",
        ),
        {C.rheumatology: 3, C.orthopedics: 0.5},
        site="joints",
    ),
    Symptom(
        "morning stiffness",
        (
            "morning stiffness|stiff (in|every|each) (the )?mornings?|stiff joints?",
            "stiff(ness)? .. (morning|mornings)",
        ),
        {C.rheumatology: 3},
        site="joints",
    ),
    Symptom(
        "gout or uric acid",
        ("gout|uric acid",),
        {C.rheumatology: 3},
        site="joints",
    ),
    Symptom(
        "autoimmune condition",
        ("lupus|\\bsle\\b|rheumatoid|ankylosing|autoimmune|butterfly rash",),
        {C.rheumatology: 4},
    ),
    Symptom(
        "heel or foot pain",
        (*hurts("heels?|feet|foot|soles?|ankles?"), "plantar fasci*|flat feet"),
        {C.orthopedics: 2.5},
        site="foot",
    ),
    Symptom(
        "hand or wrist pain",
        (*hurts("wrists?|hands?|fingers?|thumbs?"), "carpal tunnel|trigger finger"),
        {C.orthopedics: 2, C.rheumatology: 0.5, C.neurology: 0.5},
        site="hand",
    ),
    Symptom(
        "arm or leg pain",
        (*hurts("arms?|elbows?|legs?|thighs?|shins?"),),
        {C.orthopedics: 2, C.general_medicine: 0.5},
    ),
    Symptom(
        "posture or spine shape",
        ("posture|hunch*|scoliosis|curved spine",),
        {C.orthopedics: 3},
        site="back",
    ),
    Symptom(
        "weak bones",
        ("osteopor*|brittle bones?|bone density|vitamin d",),
        {C.orthopedics: 1.5, C.endocrinology: 1.5},
    ),
)
