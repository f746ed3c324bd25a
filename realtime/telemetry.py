"""This worker's sampled state: gauges for /metrics, its heartbeat for the cluster view,
and the event-loop lag probe (domain/admission.py `LoopLag`, which admission control reads).

Sampling (every `period` seconds) walks the hub's connections and channels once, so no hot
path pays for a gauge: a connection opening or a subscription moving costs nothing here.
The walk is O(connections + channels) of plain attribute reads, a few milliseconds at 10k
connections every few seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from domain import metrics, nodes
from domain.admission import LoopLag
from domain.tasks import every, spawn
from realtime.hub import Hub

log = logging.getLogger("parley.telemetry")


class Telemetry:
    """Samples the hub into gauges and heartbeats it; `start()` then `close()`."""

    def __init__(
        self, hub: Hub, engine: AsyncEngine, ttl: float, lag: LoopLag | None = None
    ) -> None:
        self.hub = hub
        self.lag = lag or LoopLag()
        self.engine = engine
        self.ttl = ttl
        self.period = ttl / 4
        self.started_at = time.time()
        self._kinds: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Beat once now (a new node is listed at once), then every `period`."""
        await self.tick()
        self._tasks = [
            spawn(every(self.period, self.tick), name="telemetry"),
            spawn(self.lag.run(), name="telemetry-loop-lag"),
        ]

    async def close(self) -> None:
        """Stop sampling and say goodbye, so this node leaves the cluster view at once."""
        for task in self._tasks:
            task.cancel()
        metrics.flush()
        try:
            await nodes.heartbeat(self.hub.broker, self.report(leaving=True), self.ttl)
        except Exception as exc:  # noqa: BLE001 - it drops out within the bound anyway
            log.warning("node goodbye not recorded", extra={"error": type(exc).__name__})

    def report(self, *, leaving: bool = False) -> nodes.NodeReport:
        hub = self.hub
        return nodes.NodeReport(
            node=hub.node,
            started_at=self.started_at,
            at=time.time(),
            connections=len(hub.connections),
            subscriptions=sum(len(ch.subs) for ch in hub.channels.values()),
            channels=len(hub.channels),
            leaving=leaving,
        )

    async def tick(self) -> None:
        self.sample()
        try:
            await nodes.heartbeat(self.hub.broker, self.report(), self.ttl)
        except Exception as exc:  # noqa: BLE001 - Redis down: the next tick retries
            log.warning("node heartbeat failed", extra={"error": type(exc).__name__})

    def sample(self) -> None:
        """Set this worker's gauges from the hub and the database pool; flush counts."""
        metrics.flush()
        sse = queued = deepest = 0
        for conn in self.hub.connections.values():
            sse += conn.listen_only
            depth = conn.pending()
            queued += depth
            deepest = max(deepest, depth)
        metrics.CONNECTIONS.labels("sse").set(sse)
        metrics.CONNECTIONS.labels("ws").set(len(self.hub.connections) - sse)
        metrics.OUTBOX_FRAMES.set(queued)
        metrics.OUTBOX_MAX.set(deepest)
        subs: Counter[str] = Counter()
        chans: Counter[str] = Counter()
        for ch in self.hub.channels.values():
            subs[ch.kind.name] += len(ch.subs)
            chans[ch.kind.name] += 1
        self._kinds |= set(chans)
        for kind in self._kinds:  # a kind with nothing left reads 0, not its last value
            metrics.SUBSCRIPTIONS.labels(kind).set(subs[kind])
            metrics.CHANNELS.labels(kind).set(chans[kind])
        metrics.LOOP_LAG_SMOOTHED.set(self.lag.smoothed)
        pool = self.engine.pool
        if isinstance(pool, QueuePool):
            metrics.DB_POOL_IN_USE.set(pool.checkedout())
            metrics.DB_POOL_SIZE.set(pool.checkedin() + pool.checkedout())
