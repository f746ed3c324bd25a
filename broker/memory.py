"""In-process broker: the same interface for a single worker with no Redis.

Only used when `PARLEY_BROKER=memory` is configured explicitly (and in tests that run
every broker test against both implementations). It cannot fan out across processes.
"""

from __future__ import annotations

import time

from broker.base import Broker, PresenceEntry


class MemoryBroker(Broker):
    def __init__(self, node: str, *, history_cap: int = 1000) -> None:
        super().__init__(node)
        self._cap = history_cap
        self._refs: dict[str, int] = {}
        self._history: dict[str, dict[int, bytes]] = {}
        self._presence: dict[str, dict[str, float]] = {}
        self._keys: dict[str, tuple[str, float]] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._refs.clear()

    async def ping(self) -> bool:
        return True

    async def publish(self, channel: str, data: bytes, *, seq: int | None = None) -> None:
        if seq is not None:
            hist = self._history.setdefault(channel, {})
            hist[seq] = data
            if len(hist) > self._cap:
                for old in sorted(hist)[: len(hist) - self._cap]:
                    del hist[old]
        if self._refs.get(channel):
            self._deliver(channel, data)

    async def subscribe(self, channel: str) -> None:
        self._refs[channel] = self._refs.get(channel, 0) + 1

    async def unsubscribe(self, channel: str) -> None:
        left = self._refs.get(channel, 0) - 1
        if left > 0:
            self._refs[channel] = left
        else:
            self._refs.pop(channel, None)

    async def history(self, channel: str, after: int, upto: int) -> list[bytes] | None:
        if upto <= after:
            return []
        hist = self._history.get(channel, {})
        items = [hist[s] for s in range(after + 1, upto + 1) if s in hist]
        return items if len(items) == upto - after else None

    def _live_of_user(self, channel: str, user_id: int, now: float, except_: str = "") -> int:
        prefix = f"{user_id}|"
        return sum(
            1
            for m, exp in self._presence.get(channel, {}).items()
            if exp > now and m != except_ and m.startswith(prefix)
        )

    async def presence_add(self, channel: str, entry: PresenceEntry, ttl: float) -> bool:
        now = time.time()
        member = entry.member()
        self._presence.setdefault(channel, {})[member] = now + ttl
        return self._live_of_user(channel, entry.user_id, now, member) == 0

    async def presence_refresh(self, entries: list[tuple[str, PresenceEntry]], ttl: float) -> None:
        expiry = time.time() + ttl
        for channel, entry in entries:
            members = self._presence.get(channel, {})
            if entry.member() in members:
                members[entry.member()] = expiry

    async def presence_remove(self, channel: str, entry: PresenceEntry) -> bool:
        if self._presence.get(channel, {}).pop(entry.member(), None) is None:
            return False
        return self._live_of_user(channel, entry.user_id, time.time()) == 0

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
            if self._live_of_user(channel, entry.user_id, now) == 0:
                gone.append(entry)
        return gone

    async def set_key(self, key: str, value: str, ttl: float) -> None:
        self._keys[key] = (value, time.monotonic() + ttl)

    async def claim_key(self, key: str, value: str, ttl: float) -> bool:
        if await self.has_key(key):
            return False
        self._keys[key] = (value, time.monotonic() + ttl)
        return True

    async def take_key(self, key: str) -> str | None:
        item = self._keys.pop(key, None)
        if item is None or item[1] <= time.monotonic():
            return None
        return item[0]

    async def has_key(self, key: str) -> bool:
        item = self._keys.get(key)
        return item is not None and item[1] > time.monotonic()
