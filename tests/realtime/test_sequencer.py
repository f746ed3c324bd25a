"""The ordering rules on their own (realtime/sequencer.py): no database, no Redis.

Whatever order events arrive in, duplicated or missing, a channel's durable events come
out in seq order, each exactly once, once the gaps are filled from storage.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from realtime.sequencer import Sequencer


def started(head: int = 0) -> Sequencer[str]:
    seq: Sequencer[str] = Sequencer()
    assert seq.start(head) == []
    return seq


def test_events_in_order_are_delivered_at_once() -> None:
    seq = started()
    assert seq.offer(1, "e1") == ["e1"]
    assert seq.offer(2, "e2") == ["e2"]
    assert seq.last == 2


def test_an_event_ahead_of_a_gap_is_held_until_the_gap_is_filled() -> None:
    seq = started()
    assert seq.offer(2, "e2") == []
    assert seq.gap == (0, 1)
    assert seq.offer(1, "e1") == ["e1", "e2"]
    assert seq.gap is None and seq.held == 0


def test_duplicates_and_events_at_or_below_the_position_are_dropped() -> None:
    seq = started(head=5)
    assert seq.offer(5, "old") == []
    assert seq.offer(3, "older") == []
    assert seq.offer(6, "e6") == ["e6"]
    assert seq.offer(6, "e6 again") == []


def test_a_held_duplicate_keeps_the_first_copy() -> None:
    seq = started()
    seq.offer(2, "first")
    seq.offer(2, "second")
    assert seq.offer(1, "e1") == ["e1", "first"]


def test_events_offered_before_the_head_is_known_wait_for_it() -> None:
    seq: Sequencer[str] = Sequencer()
    assert seq.offer(7, "e7") == []
    assert seq.offer(8, "e8") == []
    assert seq.gap is None  # no position yet: nothing to fill
    # The head read after subscribing was 6: both follow at once.
    assert seq.start(6) == ["e7", "e8"]


def test_events_at_or_below_the_starting_head_are_discarded_when_it_is_known() -> None:
    seq: Sequencer[str] = Sequencer()
    seq.offer(3, "e3")
    seq.offer(5, "e5")
    assert seq.start(4) == ["e5"]
    assert seq.held == 0


def test_the_gap_is_the_range_below_the_lowest_held_event() -> None:
    seq = started(head=10)
    seq.offer(15, "e15")
    seq.offer(13, "e13")
    assert seq.gap == (10, 12)


def test_a_fill_in_any_order_delivers_everything_in_order() -> None:
    seq = started()
    seq.offer(4, "e4")
    assert seq.fill([(3, "e3"), (1, "e1"), (2, "e2")]) == ["e1", "e2", "e3", "e4"]


def test_held_events_beyond_the_stored_head_are_forgotten() -> None:
    seq = started(head=2)
    seq.offer(9, "foreign")
    seq.offer(10, "foreign too")
    assert seq.forget_beyond(head=3) == 2
    assert seq.gap is None and seq.held == 0


# --- properties --------------------------------------------------------------------------


@st.composite
def arrivals(draw: st.DrawFn) -> tuple[int, int, list[int]]:
    """A head, a number of new events, and the order (with duplicates and losses) in which
    pub/sub delivered them, including stale ones from before the head."""
    head = draw(st.integers(min_value=0, max_value=5))
    count = draw(st.integers(min_value=0, max_value=40))
    seqs = list(range(1, head + count + 1))
    delivered = draw(st.lists(st.sampled_from(seqs), max_size=80) if seqs else st.just([]))
    return head, count, delivered


@settings(max_examples=300, deadline=None, derandomize=True)
@given(arrivals(), st.integers(min_value=0, max_value=3))
def test_any_interleaving_comes_out_in_order_exactly_once_after_filling(
    case: tuple[int, int, list[int]], start_after: int
) -> None:
    head, count, delivered = case
    storage = {n: f"e{n}" for n in range(1, head + count + 1)}
    seq: Sequencer[str] = Sequencer()
    out: list[str] = []
    for i, n in enumerate(delivered):
        if i == start_after:
            out += seq.start(head)
        out += seq.offer(n, storage[n])
        # The hub fills gaps from storage; do it at arbitrary moments too.
        if i % 3 == 0 and seq.gap is not None:
            after, upto = seq.gap
            out += seq.fill((k, storage[k]) for k in range(after + 1, upto + 1))
    if not seq.started:
        out += seq.start(head)
    # Then the periodic head check: everything up to the stored head.
    assert seq.last is not None
    out += seq.fill((k, storage[k]) for k in range(seq.last + 1, head + count + 1))
    assert out == [storage[n] for n in range(head + 1, head + count + 1)]
    assert seq.held == 0


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.integers(min_value=1, max_value=30), max_size=60))
def test_nothing_is_ever_delivered_twice_or_out_of_order(offers: list[int]) -> None:
    seq: Sequencer[int] = Sequencer()
    seq.start(0)
    out: list[int] = []
    for n in offers:
        out += seq.offer(n, n)
    assert out == list(range(1, len(out) + 1))
