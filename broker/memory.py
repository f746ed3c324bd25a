"""In-process broker: the same interface for a single worker with no Redis.

Only used when `PARLEY_BROKER=memory` is configured explicitly (and in tests that run
every broker test against both implementations). It cannot fan out across processes.
"""

from __future__ import annotations

from broker.base import Broker
from broker.memory_stores import MemoryStores


class MemoryBroker(MemoryStores, Broker):
    def __init__(self, node: str, *, history_cap: int = 1000) -> None:
        Broker.__init__(self, node)
        MemoryStores.__init__(self)
        self._cap = history_cap
        self._refs: dict[str, int] = {}
        self._history: dict[str, dict[int, bytes]] = {}

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
