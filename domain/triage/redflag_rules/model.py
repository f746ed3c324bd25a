"""The shapes of the red-flag tables."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    title: str
    meanwhile: str  # what to do while waiting for help, one or two sentences


@dataclass(frozen=True, slots=True)
class Rule:
    category: str
    label: str  # short plain English, shown to the user and stored in triage.red_flags
    all_of: tuple[str, ...]
    unless: tuple[str, ...] = ()
