"""The cluster view: every worker's heartbeat, and the list of live nodes built from them.

Each worker appends a `NodeReport` to one capped broker stream every `ttl / 4` seconds
(realtime/telemetry.py). A node is live while its newest report is younger than `ttl` and
is not a goodbye (a worker shutting down cleanly says so, and leaves the list at once), so
a worker that died leaves the list within `ttl` of its last heartbeat: the presence bound.

The stream keeps the newest `KEEP` reports; reading it whole is one round trip. That covers
the bound for up to `KEEP * period / ttl` (= KEEP / 4) nodes: 128 workers with the default
cap. Reports carry only counts, never who is connected or to what.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, Field, ValidationError

from broker import Broker

KEY = "nodes"
KEEP = 512


class NodeReport(BaseModel):
    """One worker's heartbeat: identity and load, counts only."""

    node: str = Field(description="The worker's node id (as in the WebSocket `hello` frame).")
    started_at: float = Field(description="When the worker started, epoch seconds.")
    at: float = Field(description="When this heartbeat was sent, epoch seconds.")
    connections: int = Field(ge=0, description="Open WebSocket and SSE connections.")
    subscriptions: int = Field(ge=0, description="Live subscriptions over its connections.")
    channels: int = Field(ge=0, description="Channels it holds a Redis subscription for.")
    leaving: bool = Field(default=False, description="A clean shutdown's goodbye.")


async def heartbeat(broker: Broker, report: NodeReport, ttl: float) -> None:
    """Record `report`. Raises the broker's error when Redis is down (the next beat retries)."""
    data = report.model_dump_json(exclude_defaults=False).encode()
    await broker.stream_append(KEY, data, maxlen=KEEP, ttl=max(ttl * 4, 60.0))


async def live_nodes(broker: Broker, ttl: float, now: float | None = None) -> list[NodeReport]:
    """The nodes whose newest heartbeat is younger than `ttl`, by node id.

    Unreadable entries (anything can write to Redis) are skipped. Raises the broker's
    error when Redis is down."""
    now = time.time() if now is None else now
    newest: dict[str, NodeReport] = {}
    for _, data in await broker.stream_read(KEY):
        try:
            report = NodeReport.model_validate_json(data)
        except ValidationError:
            continue
        newest[report.node] = report  # oldest first: the last one wins
    return sorted(
        (r for r in newest.values() if not r.leaving and now - r.at < ttl),
        key=lambda r: r.node,
    )
