"""The red-flag screen: a deterministic check run on every user message before any model.

`screen(text)` never raises, never logs, and gives the same result for the same text.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.triage.language import Clause, clauses, compile_phrase, find, joined
from domain.triage.redflag_rules import CATEGORIES, NOT_ABOUT_NOW, RULES, Category, Rule

CATEGORY_BY_CODE: dict[str, Category] = {c.code: c for c in CATEGORIES}


@dataclass(frozen=True, slots=True)
class RedFlag:
    category: str  # a CATEGORIES code, e.g. "heart_attack"
    label: str  # short plain English, e.g. "chest pain spreading to the arm or jaw"


@dataclass(frozen=True, slots=True)
class RedFlagResult:
    flags: tuple[RedFlag, ...]  # in rule order, one per distinct label

    @property
    def hit(self) -> bool:
        return bool(self.flags)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(f.label for f in self.flags)

    @property
    def categories(self) -> tuple[str, ...]:
        """Distinct category codes, in order of first appearance."""
        return tuple(dict.fromkeys(f.category for f in self.flags))


def _about_now(parts: tuple[Clause, ...]) -> tuple[Clause, ...]:
    # Clauses about a pet, a device or the distant past are blanked, not removed, so that
    # clause indexes stay meaningful.
    pattern = compile_phrase(NOT_ABOUT_NOW)
    return tuple(Clause("", c.sentence) if pattern.search(c.text) else c for c in parts)


@dataclass(frozen=True, slots=True)
class _Read:
    """A message's clauses, each set with its `joined` text (find's quick filter)."""

    relevant: tuple[Clause, ...]
    relevant_text: str
    everything: tuple[Clause, ...]
    everything_text: str


def _present(phrase: str, read: _Read) -> bool:
    return any(not h.negated for h in find(phrase, read.relevant, read.relevant_text))


def _fires(rule: Rule, read: _Read) -> bool:
    if not all(_present(p, read) for p in rule.all_of):
        return False
    # `unless` looks at every clause, negated or not: "no gym today" still means gym talk
    # is around, and being conservative here only matters for look-alikes.
    return not any(find(p, read.everything, read.everything_text) for p in rule.unless)


def screen(text: str) -> RedFlagResult:
    """Screen one message for red-flag symptoms.

    Guarantees: total (any str, including NUL and lone surrogates), deterministic, pure (no
    I/O, no logging, no cache that would keep the text). A negated symptom ("no chest
    pain") never contributes to a flag.
    """
    everything = clauses(text)
    relevant = _about_now(everything)
    read = _Read(relevant, joined(relevant), everything, joined(everything))
    flags: list[RedFlag] = []
    seen: set[str] = set()
    for rule in RULES:
        if rule.label not in seen and _fires(rule, read):
            seen.add(rule.label)
            flags.append(RedFlag(rule.category, rule.label))
    return RedFlagResult(tuple(flags))
