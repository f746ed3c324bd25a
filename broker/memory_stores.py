"""The storage capabilities (broker/stores.py) in this process: a mixin of MemoryBroker.

Same semantics as broker/redis_stores.py for one worker; the contract suites under
tests/broker/ run against both.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Mapping, Sequence

from broker.stores import (
    KeyStore,
    PresenceEntry,
    PresencePage,
    PresenceStore,
    SortedSetStore,
    StreamStore,
    Tally,
)


class MemoryStores(PresenceStore, KeyStore, SortedSetStore, StreamStore):
    def __init__(self) -> None:
        self._presence: dict[str, dict[str, float]] = {}
        # As in Redis (0027): each user's own entries, and the users announced online.
        self._presence_mine: dict[str, dict[int, dict[str, float]]] = {}
        self._presence_users: dict[str, dict[int, str]] = {}
        self._keys: dict[str, tuple[str, float]] = {}
        self._sorted: dict[str, dict[str, float]] = {}
        # Tallied sets: watermark, and the applied changes above it.
        self._tally_wm: dict[str, int] = {}
        self._tally_above: dict[str, dict[int, Tally]] = {}
        self._tally_counts: dict[str, dict[str, tuple[int, int]]] = {}
        # Stream entries (id, data) in order, and the monotonic time each stream expires.
        self._streams: dict[str, tuple[list[tuple[str, bytes]], float]] = {}
        self._stream_ids = itertools.count(1)

    # --- presence -----------------------------------------------------------------------------
    def _mine(self, channel: str, user_id: int) -> dict[str, float]:
        return self._presence_mine.setdefault(channel, {}).setdefault(user_id, {})

    def _live_of_user(self, channel: str, user_id: int, now: float) -> int:
        mine = self._presence_mine.get(channel, {}).get(user_id, {})
        return sum(1 for exp in mine.values() if exp > now)

    def _drop_mine(self, channel: str, user_id: int, member: str) -> None:
        mine = self._presence_mine.get(channel, {})
        entries = mine.get(user_id, {})
        entries.pop(member, None)
        if not entries:
            mine.pop(user_id, None)

    async def presence_add(self, channel: str, entry: PresenceEntry, ttl: float) -> bool:
        now = time.time()
        member = entry.member()
        self._presence.setdefault(channel, {})[member] = now + ttl
        self._mine(channel, entry.user_id)[member] = now + ttl
        if self._live_of_user(channel, entry.user_id, now) > 1:
            return False
        self._presence_users.setdefault(channel, {})[entry.user_id] = entry.name
        return True

    async def presence_refresh(self, entries: list[tuple[str, PresenceEntry]], ttl: float) -> None:
        expiry = time.time() + ttl
        for channel, entry in entries:
            members = self._presence.get(channel, {})
            if entry.member() in members:
                members[entry.member()] = expiry
                self._mine(channel, entry.user_id)[entry.member()] = expiry

    async def presence_remove(self, channel: str, entry: PresenceEntry) -> bool:
        if self._presence.get(channel, {}).pop(entry.member(), None) is None:
            return False
        self._drop_mine(channel, entry.user_id, entry.member())
        if self._live_of_user(channel, entry.user_id, time.time()) > 0:
            return False
        self._presence_users.get(channel, {}).pop(entry.user_id, None)
        return True

    async def presence_page(self, channel: str, limit: int) -> PresencePage:
        users = self._presence_users.get(channel, {})
        now = time.time()
        live = []
        if limit > 0:
            for uid in heapq.nsmallest(2 * limit, users):
                if self._live_of_user(channel, uid, now) > 0:
                    live.append((uid, users[uid]))
                    if len(live) == limit:
                        break
        return PresencePage(users=live, total=len(users))

    async def presence_online(self, channel: str, user_id: int) -> bool:
        return self._live_of_user(channel, user_id, time.time()) > 0

    async def presence_list(self, channel: str) -> list[PresenceEntry]:
        now = time.time()
        return [
            PresenceEntry.parse(m)
            for m, exp in self._presence.get(channel, {}).items()
            if exp > now
        ]

    async def presence_sweep(self, channel: str) -> list[PresenceEntry]:
        now = time.time()
        members = self._presence.get(channel, {})
        expired = [m for m, exp in members.items() if exp <= now]
        gone = []
        for m in expired:
            del members[m]
            entry = PresenceEntry.parse(m)
            self._drop_mine(channel, entry.user_id, m)
            if self._live_of_user(channel, entry.user_id, now) > 0:
                continue
            if self._presence_users.get(channel, {}).pop(entry.user_id, None) is not None:
                gone.append(entry)
        return gone

    # --- keys -----------------------------------------------------------------------------------
    def _live_key(self, key: str) -> str | None:
        item = self._keys.get(key)
        if item is None or item[1] <= time.monotonic():
            self._keys.pop(key, None)
            return None
        return item[0]

    async def set_key(self, key: str, value: str, ttl: float) -> None:
        self._keys[key] = (value, time.monotonic() + ttl)

    async def set_keys(self, keys: Sequence[str], value: str, ttl: float) -> None:
        for key in keys:
            self._keys[key] = (value, time.monotonic() + ttl)

    async def claim_key(self, key: str, value: str, ttl: float) -> bool:
        if self._live_key(key) is not None:
            return False
        self._keys[key] = (value, time.monotonic() + ttl)
        return True

    async def claim_keys(self, keys: Sequence[str], value: str, ttl: float) -> list[bool]:
        return [await self.claim_key(key, value, ttl) for key in keys]

    async def take_key(self, key: str) -> str | None:
        value = self._live_key(key)
        self._keys.pop(key, None)
        return value

    async def has_key(self, key: str) -> bool:
        return self._live_key(key) is not None

    async def count_key(self, key: str, window: float) -> int:
        current = self._live_key(key)
        if current is None:
            self._keys[key] = ("1", time.monotonic() + window)
            return 1
        count = int(current) + 1
        self._keys[key] = (str(count), self._keys[key][1])
        return count

    # --- sorted sets ----------------------------------------------------------------------------
    def _ordered(self, key: str) -> list[tuple[str, float]]:
        # Highest score first; equal scores by member, descending (as ZREVRANGE does).
        return sorted(
            self._sorted.get(key, {}).items(), key=lambda ms: (ms[1], ms[0]), reverse=True
        )

    async def sorted_add(self, key: str, scores: Mapping[str, float]) -> None:
        if scores:
            self._sorted.setdefault(key, {}).update(scores)

    async def sorted_top(self, key: str, offset: int, limit: int) -> list[tuple[str, float]]:
        if limit <= 0:
            return []
        return self._ordered(key)[offset : offset + limit]

    async def sorted_rank(self, key: str, member: str) -> tuple[int, float] | None:
        for rank, (m, score) in enumerate(self._ordered(key)):
            if m == member:
                return rank, score
        return None

    async def sorted_count(self, key: str) -> int:
        return len(self._sorted.get(key, {}))

    async def sorted_replace(self, key: str, scores: Mapping[str, float]) -> None:
        if scores:
            self._sorted[key] = dict(scores)
        else:
            self._sorted.pop(key, None)

    async def sorted_exists(self, key: str) -> bool:
        return bool(self._sorted.get(key))

    async def sorted_delete(self, key: str) -> None:
        self._sorted.pop(key, None)
        self._tally_wm.pop(key, None)
        self._tally_above.pop(key, None)
        self._tally_counts.pop(key, None)

    def _bump(self, key: str, change: Tally, span: int, limit: int) -> None:
        scores = self._sorted.setdefault(key, {})
        old = scores.get(change.member)
        points, rest = (0, span) if old is None else divmod(int(old), span)
        points = max(1 - limit, min(limit - 1, points + change.points))
        scores[change.member] = float(points * span + min(rest, change.rest))
        counts = self._tally_counts.setdefault(key, {})
        right, wrong = counts.get(change.member, (0, 0))
        counts[change.member] = (right + change.correct, wrong + change.wrong)

    def _watermark(self, key: str) -> int | None:
        return self._tally_wm.get(key)

    def _advance(self, key: str, wm: int) -> None:
        above = self._tally_above.setdefault(key, {})
        while above.pop(wm + 1, None) is not None:
            wm += 1
        self._tally_wm[key] = wm

    async def tally_apply_many(
        self, span: int, limit: int, changes: Mapping[str, Sequence[Tally]]
    ) -> dict[str, int | None]:
        return {key: self._tally_apply(key, span, limit, mine) for key, mine in changes.items()}

    def _tally_apply(self, key: str, span: int, limit: int, changes: Sequence[Tally]) -> int | None:
        wm = self._watermark(key)
        if wm is None:
            return None
        above = self._tally_above.setdefault(key, {})
        for change in changes:
            if change.seq > wm and change.seq not in above:
                above[change.seq] = change
                self._bump(key, change, span, limit)
        self._advance(key, wm)
        return len(above)

    async def tally_replace(
        self,
        key: str,
        seq: int,
        span: int,
        limit: int,
        scores: Mapping[str, int],
        counts: Mapping[str, tuple[int, int]] | None = None,
    ) -> bool:
        wm = self._watermark(key)
        if wm is not None and wm > seq:
            return False
        if wm is None:
            self._tally_above.pop(key, None)
        self._sorted[key] = {m: float(v) for m, v in scores.items()}
        self._tally_counts[key] = {m: (counts or {}).get(m, (0, 0)) for m in scores}
        above = self._tally_above.setdefault(key, {})
        for s in [s for s in above if s <= seq]:
            del above[s]
        for change in above.values():
            self._bump(key, change, span, limit)
        if not self._sorted[key]:
            del self._sorted[key]
        self._advance(key, seq)
        return True

    async def tally_watermark(self, key: str) -> int | None:
        return self._watermark(key)

    async def tally_counts(self, key: str, members: Sequence[str]) -> dict[str, tuple[int, int]]:
        counts = self._tally_counts.get(key, {})
        return {m: counts[m] for m in members if m in counts}

    # --- streams --------------------------------------------------------------------------------
    def _live_stream(self, key: str) -> list[tuple[str, bytes]]:
        item = self._streams.get(key)
        if item is None or item[1] <= time.monotonic():
            self._streams.pop(key, None)
            return []
        return item[0]

    async def stream_append(self, key: str, data: bytes, *, maxlen: int, ttl: float) -> str:
        entries = self._live_stream(key)
        # Ids sort in append order as fixed-width numbers, like "<ms>-<n>" within a stream.
        entry_id = f"{next(self._stream_ids):020d}-0"
        entries.append((entry_id, data))
        del entries[: max(0, len(entries) - maxlen)]
        self._streams[key] = (entries, time.monotonic() + ttl)
        return entry_id

    async def stream_read(
        self, key: str, after: str | None = None, count: int | None = None
    ) -> list[tuple[str, bytes]]:
        entries = [e for e in self._live_stream(key) if after is None or e[0] > after]
        return entries if count is None else entries[:count]

    async def stream_delete(self, key: str) -> None:
        self._streams.pop(key, None)
