"""The red-flag rules: symptom combinations that need emergency care now.

A rule fires when every one of its `all_of` phrases occurs, not negated, in a clause that is
about the person now (not a pet, a device, a film, or years ago), and none of its `unless`
phrases occurs anywhere. Phrase syntax: domain/triage/language.py. Rules err on the side of
firing: a missed emergency costs more than an unneeded warning.
"""

from __future__ import annotations

from domain.triage.redflag_rules import circulation, injury_mind
from domain.triage.redflag_rules.model import Category, Rule

CATEGORIES: tuple[Category, ...] = (
    Category(
        "heart_attack",
        "possible heart attack",
        "Stop what you are doing, sit down and rest, and loosen tight clothing.",
    ),
    Category(
        "stroke",
        "possible stroke",
        "Note the time the symptoms started; do not give food, drink or medicines.",
    ),
    Category(
        "breathing",
        "severe breathing difficulty",
        "Sit upright; if you have a reliever inhaler, use it as prescribed.",
    ),
    Category(
        "anaphylaxis",
        "severe allergic reaction",
        "Use an adrenaline auto-injector if one is available; lie down with legs raised"
        " unless breathing is hard, then sit up.",
    ),
    Category(
        "bleeding",
        "heavy bleeding",
        "Press firmly on the wound with a clean cloth and keep pressing; raise the limb.",
    ),
    Category(
        "gi_bleeding", "bleeding from the gut", "Do not eat or drink; lie down if you feel faint."
    ),
    Category(
        "self_harm",
        "suicidal intent or overdose",
        "You are not alone. Stay with someone you trust, move away from anything you"
        " could use to harm yourself, and you can also call Tele-MANAS on 14416 (India,"
        " free, 24x7). If pills were taken, keep the packets to show the doctors.",
    ),
    Category(
        "meningitis",
        "possible meningitis",
        "Go now; do not wait for the rash or the fever to change.",
    ),
    Category(
        "seizure",
        "seizure that won't stop",
        "Do not hold the person down or put anything in their mouth; move hard objects"
        " away; when the shaking stops, turn them on their side.",
    ),
    Category(
        "headache",
        "sudden severe headache",
        "Do not drive yourself; lie still and have someone stay with you.",
    ),
    Category(
        "head_injury", "serious head injury", "Keep the person still and do not leave them alone."
    ),
    Category(
        "poisoning",
        "poisoning or venomous bite",
        "Do not make the person vomit; keep the container or packet to show the doctors;"
        " for a bite, keep the limb still and below the heart.",
    ),
    Category(
        "unconscious",
        "unconscious or unresponsive",
        "Check breathing: if breathing, turn them on their side; if not, start chest"
        " compressions if you know how, and the operator will guide you.",
    ),
    Category(
        "burns",
        "severe burn",
        "Cool the burn under cool running water for 20 minutes (no ice, butter or"
        " toothpaste); remove rings and watches; cover loosely with cling film.",
    ),
    Category(
        "pregnancy",
        "pregnancy emergency",
        "Lie on your left side and take your pregnancy records with you.",
    ),
)

RULES: tuple[Rule, ...] = (*circulation.RULES, *injury_mind.RULES)


# A clause about something other than the person now: a pet, a device, a film or dream,
# a family history, something years ago, or a textbook question about symptoms.
NOT_ABOUT_NOW = (
    "dogs?|cats?|pupp(y|ies)|kittens?|pets?|cows?|goats?|horses?|parrots?|birds?|hamsters?"
    "|rabbits?|laptop|phone|computer|pc|mobile|movie|film|in a dream|dreamt|dreamed"
    "|last year|(years|months) (ago|back)|as a (kid|child|baby)|when i was (a kid|a child"
    "|a baby|little|young|small|in school|\\d+)"
    "|in (19|20)\\d\\d|history of|died|passed away|(symptoms|signs|causes|first aid) (of|for)"
    "|how (do|can|to) (i|you|we|one)? ?(know|tell|recogni[sz]e)|what (are|is) (the )?"
    "(symptoms|signs)|(mcq|neet question|textbook)"
)

__all__ = ["CATEGORIES", "NOT_ABOUT_NOW", "RULES", "Category", "Rule"]
