"""The broker's storage capabilities, one interface each, beside pub/sub (broker/base.py).

Each capability is honoured by the Redis implementation (production, shared by every
worker) and the in-memory one (a single worker, and the contract tests), and each has its
own contract suite under tests/broker/. Code that needs one capability should ask for that
interface, not the whole broker.

Redis holds nothing here that PostgreSQL cannot rebuild or that may not be lost: presence
expires by itself, keys are short-lived (tickets, quotas, caches), sorted sets are caches of
leaderboards kept in PostgreSQL, and streams hold in-flight LLM answers for a few minutes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PresenceEntry:
    """One connection's presence in a channel."""

    user_id: int
    name: str
    node: str
    conn_id: str

    def member(self) -> str:
        return f"{self.user_id}|{self.node}|{self.conn_id}|{self.name}"

    @classmethod
    def parse(cls, member: str) -> PresenceEntry:
        user_id, node, conn_id, name = member.split("|", 3)
        return cls(int(user_id), name, node, conn_id)


@dataclass(frozen=True, slots=True)
class PresencePage:
    """The first users online in a channel (lowest ids first) and how many there are."""

    users: list[tuple[int, str]]  # (user id, name), sorted by id
    total: int  # users online; may briefly count a user whose entries expired unswept


class PresenceStore(ABC):
    """Who is connected to a channel, on any worker, with expiry for crashed workers.

    Every operation a subscribe or unsubscribe makes costs O(log n) broker work for a
    channel of n entries (a user's own entries are indexed apart, 0027); only
    `presence_list` and `presence_sweep` read all of the channel's (or its expired) entries.
    """

    @abstractmethod
    async def presence_add(self, channel: str, entry: PresenceEntry, ttl: float) -> bool:
        """Add or refresh; True when this is the user's first live entry in the channel."""

    @abstractmethod
    async def presence_refresh(self, entries: list[tuple[str, PresenceEntry]], ttl: float) -> None:
        """Extend the expiry of many (channel, entry) pairs in one round trip."""

    @abstractmethod
    async def presence_remove(self, channel: str, entry: PresenceEntry) -> bool:
        """Remove; True when this removed the user's last live entry in the channel."""

    @abstractmethod
    async def presence_list(self, channel: str) -> list[PresenceEntry]:
        """Live entries (expired ones excluded). O(n): not for a per-subscribe path."""

    @abstractmethod
    async def presence_page(self, channel: str, limit: int) -> PresencePage:
        """Up to `limit` users with a live entry, lowest ids first, and the number of users
        online (those announced and not yet gone: it can include, until the next sweep, a
        user whose entries all expired). Costs O(limit + log n), not O(n)."""

    @abstractmethod
    async def presence_online(self, channel: str, user_id: int) -> bool:
        """Whether the user has a live entry in the channel. O(log n)."""

    @abstractmethod
    async def presence_sweep(self, channel: str) -> list[PresenceEntry]:
        """Drop expired entries; return those whose user now has no live entry (went away).

        Exactly one caller gets each expired entry, so one `leave` is sent per user.
        """


class KeyStore(ABC):
    """Short-lived string keys and counters, atomic across workers."""

    @abstractmethod
    async def set_key(self, key: str, value: str, ttl: float) -> None: ...

    @abstractmethod
    async def set_keys(self, keys: Sequence[str], value: str, ttl: float) -> None:
        """`set_key` for many keys in one round trip (not atomic: each key is set or not)."""

    @abstractmethod
    async def claim_key(self, key: str, value: str, ttl: float) -> bool:
        """Set only if absent, atomically; True for the one caller that set it."""

    @abstractmethod
    async def claim_keys(self, keys: Sequence[str], value: str, ttl: float) -> list[bool]:
        """`claim_key` for each of `keys` in one round trip, in order; each claim is atomic
        on its own (not across keys)."""

    @abstractmethod
    async def take_key(self, key: str) -> str | None:
        """Get and delete atomically (single-use tickets)."""

    @abstractmethod
    async def has_key(self, key: str) -> bool: ...

    @abstractmethod
    async def count_key(self, key: str, window: float) -> int:
        """Add one to a counter that lives `window` seconds from its first count; the new
        count. Atomic across workers: N concurrent calls return 1..N (fixed-window quotas).
        """


class SortedSetStore(ABC):
    """Scored members, highest first: the live cache of leaderboards.

    Scores are floats, exact for integers up to 2**53, so a composite score (points, then
    who got there first) can encode a tie-break. Members with equal scores are ordered by
    member, descending (Redis's rule); encode every tie-break in the score.
    """

    @abstractmethod
    async def sorted_add(self, key: str, scores: Mapping[str, float]) -> None:
        """Set these members' scores (adding the members if absent)."""

    @abstractmethod
    async def sorted_top(self, key: str, offset: int, limit: int) -> list[tuple[str, float]]:
        """Members from rank `offset` (0 = highest score), at most `limit`, with scores."""

    @abstractmethod
    async def sorted_rank(self, key: str, member: str) -> tuple[int, float] | None:
        """The member's 0-based rank (highest first) and score; None if absent."""

    @abstractmethod
    async def sorted_count(self, key: str) -> int: ...

    @abstractmethod
    async def sorted_replace(self, key: str, scores: Mapping[str, float]) -> None:
        """Replace the whole set atomically: readers see the old set or the new one."""

    @abstractmethod
    async def sorted_exists(self, key: str) -> bool:
        """False when the set was never built or was lost (flushed, evicted, restarted)."""

    @abstractmethod
    async def sorted_delete(self, key: str) -> None: ...

    # Tallied sets: a sorted set moved by numbered changes, applied exactly once each.
    # Beside the set the store keeps a watermark W (every change <= W is in the set) and the
    # changes above W already applied (at most the out-of-order window). Composite scores
    # are `points * span + rest` with |points| < limit, exact while |score| < 2**53.

    async def tally_apply(
        self, key: str, span: int, limit: int, changes: Sequence[Tally]
    ) -> int | None:
        """Apply each change not applied yet (seq above W and not among those above W), in
        one atomic step. None when the set is missing (never built, flushed, evicted):
        nothing was applied and the caller rebuilds. Else the number of applied changes
        still above the watermark (a gap: changes in flight, or lost with their worker)."""
        return (await self.tally_apply_many(span, limit, {key: changes}))[key]

    @abstractmethod
    async def tally_apply_many(
        self, span: int, limit: int, changes: Mapping[str, Sequence[Tally]]
    ) -> dict[str, int | None]:
        """`tally_apply` for several sets in one round trip: each set's step is atomic on
        its own (not across sets); the result per key is what `tally_apply` returns."""

    @abstractmethod
    async def tally_replace(
        self,
        key: str,
        seq: int,
        span: int,
        limit: int,
        scores: Mapping[str, int],
        counts: Mapping[str, tuple[int, int]] | None = None,
    ) -> bool:
        """Install a rebuilt set holding exactly changes 1..seq, atomically, with each
        member's (correct, wrong) counts (`counts`, (0, 0) for a member left out); the
        applied changes above `seq` are applied on top of it and W becomes seq (then moves
        over them). Refused (False, nothing written) when W > seq: the set is newer than
        the rebuild."""

    @abstractmethod
    async def tally_counts(self, key: str, members: Sequence[str]) -> dict[str, tuple[int, int]]:
        """The (correct, wrong) counts of those `members` the store holds counts for, moved
        in the same atomic steps as their scores. A member left out of the answer (never
        counted, or its counts lost apart from the set) must be read from the truth."""

    @abstractmethod
    async def tally_watermark(self, key: str) -> int | None:
        """W, or None when the set is missing."""


@dataclass(frozen=True, slots=True)
class Tally:
    """One scoring change to a tallied set (see `SortedSetStore.tally_apply`).

    `seq` numbers the change within its set (1, 2, ...; given by PostgreSQL). The member's
    composite score is `points * span + rest`: its points grow by `points`, its `rest` (the
    tie-break part, 0 <= rest < span) becomes the smaller of the old one and this one; its
    counts grow by `correct` and `wrong`.
    """

    seq: int
    member: str
    points: int
    rest: int
    correct: int = 0
    wrong: int = 0


class StreamStore(ABC):
    """Append-only logs with ids in order, capped and expiring: in-flight LLM answers.

    Ids are opaque strings that sort in append order within one stream (Redis stream ids).
    """

    @abstractmethod
    async def stream_append(self, key: str, data: bytes, *, maxlen: int, ttl: float) -> str:
        """Append; keep at most the newest `maxlen` entries; the stream expires `ttl`
        seconds after its last append. Returns the new entry's id."""

    @abstractmethod
    async def stream_read(
        self, key: str, after: str | None = None, count: int | None = None
    ) -> list[tuple[str, bytes]]:
        """Entries after the id `after` (from the start when None), oldest first."""

    @abstractmethod
    async def stream_delete(self, key: str) -> None: ...
