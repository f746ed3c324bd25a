"""Ordering of one channel's durable events, with no I/O: the rules, apart from the plumbing.

Events carry a `seq` that increases by one per channel (PROTOCOL.md). They reach a worker
through Redis pub/sub, which may reorder them (two workers publish into one room at once),
duplicate them (a retried publish, a replay overlapping live delivery) or lose them (a
publish lost to a crash or a Redis outage). The sequencer turns that into exactly-once,
in-order delivery:

- `start(head)` sets the position once the channel's head is known (the subscription is
  confirmed); events offered before that are held.
- `offer(seq, item)` returns what can be delivered now, in order: nothing for a duplicate
  or an event ahead of a gap (held back), the event plus any held events it unblocks
  otherwise.
- `gap` names the range missing below the lowest held event; the caller fetches it from
  history or storage and hands it to `fill`, which is `offer` for many.
- `forget_beyond(head)` drops held events above the stored head: storage never had them
  (events are published after commit), so they are foreign or stale and would block the
  channel forever.

The caller owns timing (how long to wait before filling) and storage; everything here is a
pure function of the calls made, which is what the property tests rely on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class Sequencer(Generic[T]):
    __slots__ = ("_held", "last")

    def __init__(self) -> None:
        self.last: int | None = None  # the last seq delivered; None until started
        self._held: dict[int, T] = {}

    @property
    def started(self) -> bool:
        return self.last is not None

    @property
    def held(self) -> int:
        """How many events wait for a gap below them to be filled."""
        return len(self._held)

    @property
    def gap(self) -> tuple[int, int] | None:
        """(after, upto): the seqs after < seq <= upto are missing below a held event."""
        if self.last is None or not self._held:
            return None
        lowest = min(self._held)
        return (self.last, lowest - 1) if lowest - 1 > self.last else None

    def start(self, head: int) -> list[T]:
        """Begin at `head` (everything up to it counts as delivered); release what follows."""
        self.last = head
        return self._release()

    def offer(self, seq: int, item: T) -> list[T]:
        """The items deliverable now, in seq order (empty when `item` must wait or is a
        duplicate)."""
        if self.last is None:
            self._held.setdefault(seq, item)
            return []
        if seq <= self.last:
            return []  # duplicate: replayed, re-published or recovered already
        if seq > self.last + 1:
            self._held.setdefault(seq, item)
            return []
        self.last = seq
        return [item, *self._release()]

    def fill(self, items: Iterable[tuple[int, T]]) -> list[T]:
        """Offer many (a page of history, in any order); what became deliverable, in order."""
        out: list[T] = []
        for seq, item in sorted(items, key=lambda pair: pair[0]):
            out.extend(self.offer(seq, item))
        return out

    def forget_beyond(self, head: int) -> int:
        """Drop held events with seq > head; how many were dropped."""
        doomed = [seq for seq in self._held if seq > head]
        for seq in doomed:
            del self._held[seq]
        return len(doomed)

    def _release(self) -> list[T]:
        assert self.last is not None
        for seq in [s for s in self._held if s <= self.last]:
            del self._held[seq]
        out: list[T] = []
        while (nxt := self._held.pop(self.last + 1, None)) is not None:
            out.append(nxt)
            self.last += 1
        return out
