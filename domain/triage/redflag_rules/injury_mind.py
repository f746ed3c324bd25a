"""Red flags of the mind, infection, seizures, injuries, poisoning, burns and pregnancy."""

from __future__ import annotations

from domain.triage.redflag_rules.model import Rule
from domain.triage.redflag_rules.phrases import (
    BIG_AMOUNT,
    BURN,
    CHILD,
    FEVER,
    HEAD_DANGER,
    HEAD_HIT,
    ILLNESS_NOT_ACCIDENT,
    LIGHT_HURTS,
    NOT_STOPPING,
    PILLS,
    PREGNANT,
    RASH_NO_FADE,
    SEIZURE,
    SOME,
    STIFF_NECK,
    SUBSTANCE,
    WHO,
)

_R = Rule
RULES: tuple[Rule, ...] = (
    # suicidal intent or overdose
    _R(
        "self_harm",
        "thoughts of suicide or self-harm",
        (
            "suicid*|kill* (my ?self|myself)|end (my|it) (own )?(life|all)|end it all"
            "|take my (own )?life|(want|wish|going|planning|plan|thinking about|thinking of) (to )?"
            "(die|dying)|(do not|never) want to (live|be alive|exist|wake up)|wish i (was"
            "|were) dead"
            "|better off dead|no (reason|point) (to|in) (live|living|go on)|hang (my ?self|myself)"
            "|jump (off|from) .. (building|bridge|roof|terrace)|(cutting|harming|hurting) (my ?self"
            "|myself)|self ?harm*|(want|wanted|urge|thinking|planning) to (cut|hurt|harm) (my ?self"
            "|myself)",
        ),
        ("die (of|from|with) (boredom|laugh*|embarrass*|shame|cringe|happiness)",),
    ),
    _R(
        "self_harm",
        "possible overdose",
        (
            f"overdos*|(took|taken|swallowed|ate|has taken|drank|consumed|popped) {BIG_AMOUNT} .. "
            f"({PILLS})",
        ),
    ),
    # meningitis
    _R(
        "meningitis",
        "stiff neck and fever with sensitivity to light",
        (STIFF_NECK, FEVER, LIGHT_HURTS),
    ),
    _R("meningitis", "stiff neck and fever with a rash", (STIFF_NECK, FEVER, "rash|spots")),
    _R("meningitis", "stiff neck, fever and headache", (STIFF_NECK, FEVER, "head ?ache")),
    _R(
        "meningitis",
        "stiff neck and fever with drowsiness or confusion",
        (STIFF_NECK, FEVER, "drowsy|sleepy|confus*|not waking|vomit*"),
    ),
    _R("meningitis", "a rash that doesn't fade under a glass", (RASH_NO_FADE,)),
    # seizures
    _R("seizure", "a seizure that won't stop", (SEIZURE, NOT_STOPPING)),
    _R("seizure", "a first-ever seizure", ("first (ever )?(seizure|fit)|status epilepticus",)),
    # headache
    _R(
        "headache",
        "sudden severe headache ('worst ever')",
        (
            "worst (head ?ache|headache|pain) (of|in) (my|his|her) (entire )?life"
            "|worst (head ?ache|headache) ever|thunderclap"
            "|(sudden*|out of nowhere|all of a sudden) .. (severe|excruciating|intense|terrible"
            "|blinding|splitting|explosive|exploding|unbearable) .. head ?ache"
            "|(severe|excruciating|intense|terrible|blinding|explosive|unbearable) head ?ache .. "
            "(sudden*|out of nowhere|in seconds)|head ?ache .. like (i was |being |someone )?"
            "(hit|struck|kicked)|head .. (explod*)",
        ),
    ),
    # head injury
    _R(
        "head_injury",
        "head injury with confusion, vomiting or loss of consciousness",
        (HEAD_HIT, HEAD_DANGER),
    ),
    _R(
        "head_injury",
        "knocked out by a blow",
        ("knocked (him |her |me |my ?self )?(out|unconscious)",),
    ),
    # poisoning
    _R(
        "poisoning",
        "swallowed a poison or chemical",
        (
            f"(swallowed|drank|drunk|drink|ingested|ate|eaten|consumed|gulped|sipped|licked) {SOME}"
            f"({SUBSTANCE})",
        ),
    ),
    _R(
        "poisoning",
        "a child swallowed medicines",
        (
            CHILD,
            f"(ate|swallowed|eaten|drank|drunk|got into|chewed|had) {SOME}(some of (my |his "
            f"|her |the )|few |all the |lot"
            f" of )?({PILLS})",
        ),
    ),
    _R("poisoning", "possible poisoning", ("poisoned|poisoning",), (ILLNESS_NOT_ACCIDENT,)),
    _R(
        "poisoning",
        "snake or scorpion bite",
        (
            "snake ?bit*|bitten by a (snake|cobra|krait|viper)|scorpion (sting|bite|bit)"
            "|stung by a scorpion",
        ),
    ),
    # unconscious
    _R(
        "unconscious",
        "unconscious or not waking up",
        (
            "unconscious|unresponsive|not responding|non ?responsive|lost consciousness"
            "|losing consciousness|no pulse|not waking( up)?(?! (early|on time|in time|for))"
            "|(not|cannot|could not|unable to) (wake|rouse) (him|her|them|my \\w+|the (baby|child))"
            "|(will|would|does|did|is) not wake up(?! (early|on time|in time|in the morning"
            "|for|at))",
        ),
    ),
    _R(
        "unconscious",
        "collapsed",
        ("(suddenly |just )?collapsed",),
        ("(on|onto|into) (the |my )?(bed|sofa|couch)|exhausted|lung|vein",),
    ),
    # severe burns
    _R(
        "burns",
        "electrical injury or burn",
        (
            "electrocut*|electric(al)? (shock|burn*)|shock from (a |the )?(wire|socket|plug"
            "|current)"
            "|touched a (live )?(wire|power line)|high voltage|struck by lightning",
        ),
    ),
    _R(
        "burns",
        "chemical burn",
        (
            "(acid|chemical|bleach|caustic|alkali) (burn*|splash*|spill*|attack|thrown)"
            "|(burn*|splash*) (with|by|from) (acid|a chemical|chemicals|bleach)"
            f"|(acid|chemical|bleach) (in|on|into) {WHO}(eyes?|face|skin)",
        ),
    ),
    _R(
        "burns",
        "large or deep burn, or a burn to the face",
        (
            f"(large|big|huge|severe|serious|major|deep|extensive) (\\w+ ){{0,2}}({BURN})"
            f"|({BURN}) .. (large|big|huge|whole|entire|most of|all over|both|half|face|eyes?"
            f"|neck|genitals|private parts|chest|back)|({BURN}) .. (white|black|charred|leathery"
            f"|peeling|painless)|(face|eyes?|mouth|throat) .. (burnt|burned|scalded)"
            f"|(inhaled|breathed in) (smoke|fumes)|trapped in (a |the )?fire",
        ),
        ("sun ?burn*|in the sun|tanning|acid reflux|acidity|heart ?burn|reflux",),
    ),
    _R(
        "burns",
        "burn in a baby or small child",
        (
            f"{BURN}",
            "baby|infant|toddler|newborn|([1-4]|one|two|three|four) (year|yr)s? old|months? old",
        ),
        ("sun ?burn*",),
    ),
    # pregnancy
    _R(
        "pregnancy",
        "heavy bleeding in pregnancy",
        (
            PREGNANT,
            "(heavy|a lot of|lots of|severe|soaking) (\\w+ ){0,2}(bleeding|blood)"
            "|bleeding heavily|(bleeding|blood) .. (clots|soaking|gushing|pouring)",
        ),
    ),
    _R(
        "pregnancy",
        "severe abdominal pain in pregnancy",
        (
            PREGNANT,
            "(severe|extreme|unbearable|very bad|terrible|sharp|excruciating) (\\w+ ){0,2}"
            "(pain|cramp*)|(pain|cramp*) .. (severe|unbearable|extreme|very bad|(9|10) ?/ ?10)",
        ),
    ),
    _R(
        "pregnancy",
        "severe headache or vision changes in pregnancy",
        (
            PREGNANT,
            "(severe|bad|terrible) headache|blurr* vision|seeing (spots|flashes|stars)"
            "|flashing lights|(fits|seizure)",
        ),
    ),
    _R(
        "pregnancy",
        "baby moving less in pregnancy",
        (
            PREGNANT,
            "baby .. (not|stopped) (mov*|kick*)|(fewer|less|reduced|no) (baby )?(movements|kicks)",
        ),
    ),
)
