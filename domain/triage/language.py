"""Reading lay symptom descriptions: normalisation, clauses, phrases and negation scope.

Guarantees: every function here is pure, deterministic and total (never raises on any
`str`, including control characters, NUL and lone surrogates).

Phrase syntax (used by the knowledge tables and the red-flag rules): a phrase is a regular
expression over normalised text (lower case, single spaces, no punctuation), wrapped in
word boundaries, with two shorthands:

- `word*` matches any ending: `vomit*` matches vomit, vomiting, vomited (a `*` right after
  a letter; elsewhere it keeps its regex meaning).
- ` .. ` is a gap of up to three words: `chest .. pain` matches "chest is paining".

A phrase never matches across a clause boundary (punctuation, "but", "although", ...).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# The apostrophe-less spellings are included on purpose: people type "cant" and "dont".
_CONTRACTIONS: dict[str, str] = {
    "can't": "cannot",
    "cant": "cannot",
    "can not": "cannot",
    "won't": "will not",
    "wont": "will not",
    "don't": "do not",
    "dont": "do not",
    "doesn't": "does not",
    "doesnt": "does not",
    "didn't": "did not",
    "didnt": "did not",
    "isn't": "is not",
    "isnt": "is not",
    "aren't": "are not",
    "arent": "are not",
    "wasn't": "was not",
    "wasnt": "was not",
    "weren't": "were not",
    "haven't": "have not",
    "havent": "have not",
    "hasn't": "has not",
    "hasnt": "has not",
    "hadn't": "had not",
    "couldn't": "could not",
    "couldnt": "could not",
    "wouldn't": "would not",
    "wouldnt": "would not",
    "shouldn't": "should not",
    "ain't": "is not",
    "i'm": "i am",
    "im": "i am",
    "i've": "i have",
    "ive": "i have",
    "i'd": "i would",
    "i'll": "i will",
    "it's": "it is",
    "he's": "he is",
    "she's": "she is",
    "that's": "that is",
    "there's": "there is",
    "what's": "what is",
    "they're": "they are",
    "we're": "we are",
    "you're": "you are",
    "wanna": "want to",
    "gonna": "going to",
}
_CONTRACTION_RE = re.compile(
    r"(?<![\w'])(?:"
    + "|".join(re.escape(k) for k in sorted(_CONTRACTIONS, key=len, reverse=True))
    + r")(?![\w'])"
)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'", "\u02bc": "'"})

# Sentences end at ! ? ; and newlines, and at a full stop that is not a decimal point.
_SENTENCE_END = re.compile(r"[!?;\n\r]+|(?<!\d)\.|\.(?!\d)")
# Clause boundaries inside a sentence: they end a negation's scope ("no fever, but ...").
_CLAUSE_END = re.compile(
    r"[,:()\[\]{}\"]+"
    r"|\b(?:but|however|although|though|except|whereas|instead|apart from|other than)\b"
    r"|\band (?=(?:now|then|also|i|my|it|he|she|they|his|her|there)\b)"
)
# Everything but letters, digits, "/" (for "7/10") and "." (decimals) becomes a space.
_NOISE = re.compile(r"[^a-z0-9/. ]+")
_SPACES = re.compile(r"\s+")

NEGATION_WINDOW = 5  # words a negation cue reaches forward, within its clause
_CUE = re.compile(
    r"\b(?:no|not|never|without|denies|denied|deny|denying|nor|neither|negative for|free of"
    r"|absence of|ruled out|no longer|none)\b"
)
# A cue that is itself part of a symptom ("no appetite", "not able to", "will not stop")
# states something present; it must not negate the words that follow it.
_LEXICALISED = re.compile(
    r"(?:no|not|never) (?:able|appetite|energy|sleep|interest|strength|relief|control|feeling"
    r"|sensation|taste|smell|periods?|urine|stools?|bowel|motions?|stop\w*|go\w* away"
    r"|get\w* better|improv\w*|settl\w*|heal\w*|sleeping|eating|hungry|pass\w*|feeling well"
    r"|well|fad\w*|end\w*|wak\w*|respond\w*)\b"
    r"|not (?:breathing|moving|responsive)\b"
)

_GAP = r" (?:[\w/.]+ ){0,3}"
_WORD_STAR = re.compile(r"(?<=\w)\*")  # "vomit*"; a "*" after ")" stays a quantifier


@dataclass(frozen=True, slots=True)
class Clause:
    text: str  # normalised: lower case, single spaces
    sentence: int  # index of the sentence it belongs to


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of a phrase."""

    clause: int
    start: int
    end: int
    text: str
    negated: bool


def _clean(fragment: str) -> str:
    return _SPACES.sub(" ", _NOISE.sub(" ", fragment)).strip(" .")


def _expand(match: re.Match[str]) -> str:
    return _CONTRACTIONS[match.group(0)]


def clauses(text: str) -> tuple[Clause, ...]:
    """`text` normalised and split into clauses (empty clauses dropped)."""
    lowered = unicodedata.normalize("NFKC", text).lower().translate(_APOSTROPHES)
    lowered = lowered.replace("&", " and ").replace("-", " ")
    lowered = _CONTRACTION_RE.sub(_expand, _SPACES.sub(" ", lowered))
    out: list[Clause] = []
    for index, sentence in enumerate(_SENTENCE_END.split(lowered)):
        for part in _CLAUSE_END.split(sentence):
            cleaned = _clean(part)
            if cleaned:
                out.append(Clause(cleaned, index))
    return tuple(out)


def normalise(text: str) -> str:
    """The clauses of `text` joined by " | " (for explanations and tests)."""
    return " | ".join(c.text for c in clauses(text))


@lru_cache(maxsize=4096)
def compile_phrase(phrase: str) -> re.Pattern[str]:
    """Compile a phrase in the syntax described in the module docstring."""
    body = _WORD_STAR.sub(r"\\w*", phrase).replace(" .. ", _GAP)
    return re.compile(rf"\b(?:{body})\b")


@lru_cache(maxsize=1024)
def compile_any(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern that matches wherever any of `phrases` would: a search tries every
    alternative at every position, so `compile_any(ps).search(t)` finds a match exactly
    when some phrase occurs in `t` (a filter before finding which; phrases use no
    backreferences or group names, so they can be joined)."""
    return re.compile("|".join(f"(?:{compile_phrase(p).pattern})" for p in phrases))


def is_negated(clause: str, start: int) -> bool:
    """True when a negation cue sits within NEGATION_WINDOW words before `start`."""
    for cue in _CUE.finditer(clause, 0, start):
        if _LEXICALISED.match(clause, cue.start()):
            continue
        if len(clause[cue.end() : start].split()) < NEGATION_WINDOW:
            return True
    return False


def joined(parts: tuple[Clause, ...]) -> str:
    """The clauses as one string, one per line, for `find(..., whole=)`.

    A phrase found in a clause is found here too: a line break is neither a word character
    nor a space, so word boundaries at a clause's edges hold and nothing in the phrase
    syntax (gaps are spaces, `.` stops at a line break) lets a match reach a neighbour.
    The reverse need not hold, which is why it is only a filter."""
    return "\n".join(c.text for c in parts)


def find(phrase: str, parts: tuple[Clause, ...], whole: str | None = None) -> list[Hit]:
    """Every occurrence of `phrase` in `parts`, each marked negated or not.

    `whole`, when given, must be `joined(parts)`: one search of it rules out most phrases
    at once (a message mentions few of the hundreds of known phrases), where the clause
    by clause pass costs one search per clause."""
    pattern = compile_phrase(phrase)
    if whole is not None and pattern.search(whole) is None:
        return []
    hits: list[Hit] = []
    for index, clause in enumerate(parts):
        for m in pattern.finditer(clause.text):
            negated = is_negated(clause.text, m.start())
            hits.append(Hit(index, m.start(), m.end(), m.group(0), negated))
    return hits
