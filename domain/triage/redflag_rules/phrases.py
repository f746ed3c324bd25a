"""Phrase fragments shared by the red-flag rules (syntax: domain/triage/language.py)."""

from __future__ import annotations

WHO = "(my |his |her |their |the |our )?"
CHEST_PAIN = (
    "(chest|cheast|chset|breast ?bone|sternum) .. (pain*|hurt*|ach*|pressure|tight*|heavi*"
    "|discomfort)"
    f"|(pain*|ach*|pressure|tightness|heaviness|discomfort) (in|on|across|around) {WHO}"
    "(chest|breast ?bone)|heart (is )?(pain*|hurt*)"
)
SPREADS = (
    "(spread*|radiat*|going|goin|goes|travel*|mov*|shoot*|extend*) (down |up |into |to |through )"
    "(my |the |his |her |left |right |both ){0,3}(arms?|jaw|neck|shoulders?|back)"
    "|(left |right )?(arm|jaw|shoulder) (is |also )?(pain*|hurt*|ach*|numb|heavy|tingl*)"
    "|pain in (my |his |her )?(left )?(arm|jaw)"
)
SWEATING = "sweat*|clammy|perspir*"
BREATHLESS = (
    "short(ness)? of breath|breathless*|out of breath|(hard|difficult) to breathe"
    "|(difficulty|trouble|problem) (in )?breathing|(cannot|unable to|not able to|struggling to)"
    " (breathe|catch (my |his |her )?breath)|can barely breathe|gasping"
)
FAINTING = "faint*|passed out|pass out|collaps*|black(ed)? out|dizz*|light ?headed|giddy|giddiness"
CHEST_LOOKALIKE = (
    "after (the |a |my )?(gym|workout|work out|exercise|lifting|weights)|pulled (a )?muscle"
    "|when i (press|touch|cough|sneeze)|on pressing|press on|tender to (the )?touch"
)
EXERTION = "(a bit|a little|slight*|mild*) (\\w+ ){0,2}(breathless|short of breath|out of breath)"
FEVER = "fever*|feverish|high temp*|temperature|burning up|hot to (the )?touch|febrile"
STIFF_NECK = (
    "stiff neck|neck (is |feels |very ){0,3}(stiff|rigid)|neck stiffness"
    "|(cannot|unable to|hurts to) (bend|touch|move) (my |his |her )?(chin|neck)"
)
RASH_NO_FADE = (
    "rash .. (not|never) (fade|go away|disappear|blanch)|(not|never) fad* .. (glass|press*)"
    "|glass test|non ?blanching|purple (spots|rash|patches|blotches)"
    "|(spots|rash) .. (purple|dark red|like bruises)"
)
LIGHT_HURTS = (
    "(light|lights|sunlight) .. (hurt*|bother*|painful)|sensitiv* to (the )?light|photophobia"
    "|(cannot|can not) (stand|bear|tolerate|look at) (the )?(light|bright)"
)
SEIZURE = "seizure*|seizing|(a|having|has|had|in|another|the|his|her|of) fits?|fitting|convuls*"
NOT_STOPPING = (
    "(not|never) (stop*|end*|finish*)|(more than|over|longer than|for|already|past) "
    "([5-9]|[1-9]\\d|five|six|seven|eight|nine|ten|fifteen|twenty|thirty) min*"
    "|one after (another|the other)|back to back|(keeps|keep|kept) (having|fitting|seizing)"
    "|again and again|(not|never) (wak*|woken|regained|come round|come around)"
    "|still (shaking|jerking|seizing|fitting)|(second|third|another) (seizure|fit) .. today"
)
SUDDEN = "sudden*|all of a sudden|out of nowhere|just now|(few )?minutes ago|abrupt*"
LIMB_WEAK = (
    "(arm|leg|hand|foot) .. (weak*|numb*|limp|floppy|paraly*|dead|not moving|(cannot|can not)"
    " (move|lift))|(weak*|numb*|paraly*) .. (arm|leg|hand)"
    "|(cannot|unable to|not able to|can barely) (lift|move|raise) (my |his |her )?(arm|leg|hand)"
)
ALLERGEN = (
    "after (eating|having|taking|a|the|being)|\\bate\\b|eating|peanut*|nuts|prawn*|shrimp*"
    "|shellfish|crab|egg|sting*|stung|bee|wasp|hornet|insect|bite|bitten|injection|medicine"
    "|tablet*|antibiotic*|penicillin|allerg*"
)
CHILD = (
    "baby|toddler|infant|newborn|child|kid|son|daughter|little (one|boy|girl|brother|sister)"
    "|\\d+ (year|yr|month)s? old|boy|girl"
)
HEAD_HIT = (
    "(hit|banged|bumped|knocked|struck|injured|hurt|smashed|cracked|landed on|fell on) "
    f"{WHO}(back of {WHO})?(head|skull)|head (injury|injuries|trauma|wound)"
    "|head (hit|struck|banged)|blow to the head|concussion"
)
HEAD_DANGER = (
    "confus*|vomit*|throw* up|threw up|unconscious|passed out|knocked out|black(ed)? out"
    "|fainted|(very |really )?(drowsy|sleepy)|(cannot|does not|did not) (remember|recall)"
    "|memory loss|not making sense|seizure|(a|had|having) fit|clear fluid"
    f"|(bleeding|blood) (from|out of) {WHO}(ears?|nose)|slurr*|double vision"
    "|(severe|bad|worst|terrible) headache|headache .. (worse|worsening)"
)
PREGNANT = "pregnan*(?! test| kit)|weeks pregnant|expecting (a )?baby|trimester"
BURN = "burn|burns|burnt|burned|scald*"
PILLS = "pills|tablets|medicines?|capsules|paracetamol|sleeping pills|iron tablets"
BIG_AMOUNT = (
    "(an |a )?(whole|entire|full) (bottle|strip|pack|packet|box)"
    "|(\\d\\d+|ten|fifteen|twenty|thirty|forty|fifty|all (of )?(my|the|his|her)|lots of"
    "|a lot of|a handful of|too many|many)"
)
SUBSTANCE = (
    "bleach|phenyl|phenol|harpic|lizol|colin|kerosene|petrol|diesel|pesticide*|insecticide*"
    "|rat poison|rat kill*|poison|acid|chemical*|detergent|toilet cleaner|floor cleaner"
    "|drain cleaner|cleaning (liquid|fluid)|washing powder|button (battery|cell)|batter(y|ies)"
    "|mothballs?|naphthalene|mortein|baygon|weed ?killer|fertili[sz]er|nail polish remover"
    "|thinner|turpentine|antifreeze|methanol|hooch|mercury"
)
SOME = (
    "(some |a |the |a little |a bit of |a bottle of |a cup of |a sip of |a mouthful of "
    "|his |her |my )?"
)
ILLNESS_NOT_ACCIDENT = "food poison*|poison ivy"
