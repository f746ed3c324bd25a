"""Properties over arbitrary text: total, deterministic, and the answer's invariants."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.triage import DISCLAIMER, chunks, screen, triage
from domain.triage.knowledge import SYMPTOMS
from domain.triage.language import clauses, compile_any, find, joined

# Arbitrary text, including NUL, control characters and lone surrogates, mixed with words
# the engine knows so that matching paths are exercised too.
WORDS = st.sampled_from(
    ["no", "not", "chest pain", "fever", "for 3 weeks", "7/10", "my 4 year old", "but", ",",
     "can't", "breathe", "bleeding", "pregnant", "\x00", "\ud800", "severe", "since 2 days"]
)  # fmt: skip
TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF)),
    st.lists(WORDS, max_size=12).map(" ".join),
)
FAST = settings(max_examples=60, deadline=None)


@FAST
@given(TEXT)
def test_screen_is_total_and_deterministic(text: str) -> None:
    assert screen(text) == screen(text)


@FAST
@given(TEXT, st.lists(TEXT, max_size=2))
def test_triage_is_total_and_deterministic(text: str, history: list[str]) -> None:
    first = triage(text, history)
    assert first == triage(text, list(history))
    assert first.answer.endswith(DISCLAIMER)
    assert "".join(chunks(first.answer)) == first.answer


@FAST
@given(TEXT)
def test_chunks_join_back(text: str) -> None:
    pieces = chunks(text)
    assert "".join(pieces) == text
    assert all(pieces)


@FAST
@given(TEXT)
def test_the_quick_filters_never_hide_a_phrase(text: str) -> None:
    """`find(..., whole=)` and `compile_any` only skip work: the same hits as the clause
    by clause pass, for every known phrase."""
    parts = clauses(text)
    whole = joined(parts)
    for symptom in SYMPTOMS:
        slow = [find(p, parts) for p in symptom.phrases]
        assert [find(p, parts, whole) for p in symptom.phrases] == slow
        assert (compile_any(symptom.phrases).search(whole) is not None) == any(slow)
