"""Presence for the channel kinds that have it: who is online, `join` and `leave`.

Entries live in the broker with an expiry and are refreshed every ttl/4 by their worker, so
a crashed worker's users leave within ttl + ttl/4 (PROTOCOL.md: within 30 s). `join` is
published when a user's first connection subscribes, `leave` when the last one goes.

Cost at scale (0027): entering, leaving and the snapshot a subscriber gets are O(log n)
broker work for a channel of n entries, and the snapshot lists at most `SNAPSHOT_LIMIT`
users (lowest ids first) with `count`, the number online, so a room of 10,000 members
neither scans 10,000 entries nor sends a 10,000-user frame per subscribe.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from broker import Broker, PresenceEntry
from domain import metrics
from domain.events import JoinEvent, LeaveEvent, PresenceEvent, TypingEvent, UserRef, encode

log = logging.getLogger("parley.presence")

Ephemeral = JoinEvent | LeaveEvent | PresenceEvent | TypingEvent

# Users listed in a `presence` snapshot; `count` says how many are online in all.
SNAPSHOT_LIMIT = 100


class Presence:
    def __init__(self, broker: Broker, ttl: float, snapshot_limit: int = SNAPSHOT_LIMIT) -> None:
        self.broker = broker
        self.ttl = ttl
        self.snapshot_limit = snapshot_limit

    async def publish(self, event: Ephemeral) -> None:
        await self.broker.publish(event.channel, encode(event, self.broker.node))
        metrics.published(event.channel)

    async def enter(
        self, channel: str, entry: PresenceEntry, user: UserRef, *, quiet: bool
    ) -> bool:
        """Add the connection; announce `join` for the user's first one unless `quiet`.
        True when a `join` was published."""
        first = await self.broker.presence_add(channel, entry, self.ttl)
        if first and not quiet:
            await self.publish(JoinEvent(channel=channel, user=user))
            return True
        return False

    async def snapshot(self, channel: str) -> PresenceEvent:
        """The first `snapshot_limit` users online (by id) and how many are online: one
        bounded broker call, whatever the channel's size."""
        page = await self.broker.presence_page(channel, self.snapshot_limit)
        online = [UserRef(id=uid, name=name) for uid, name in page.users]
        # `count` never says fewer than are listed (a sweep may run between the two reads
        # of a page in the in-memory broker; in Redis they are one script).
        return PresenceEvent(channel=channel, online=online, count=max(page.total, len(online)))

    async def exit(self, channel: str, entry: PresenceEntry, user: UserRef, *, quiet: bool) -> None:
        """Remove the connection; announce `leave` for the user's last one unless `quiet`.
        Never raises: an entry that cannot be removed expires by itself."""
        try:
            last = await self.broker.presence_remove(channel, entry)
            if last and not quiet:
                await self.publish(LeaveEvent(channel=channel, user=user))
        except Exception as exc:  # noqa: BLE001 - presence expires by itself
            log.info("presence remove failed", extra={"error": type(exc).__name__})

    async def tick(self, held: Iterable[tuple[str, PresenceEntry]], channels: list[str]) -> None:
        """Refresh this worker's entries; announce `leave` for users whose entries expired
        (a crashed worker's), exactly once across workers."""
        await self.broker.presence_refresh(list(held), self.ttl)
        for name in channels:
            for gone in await self.broker.presence_sweep(name):
                user = UserRef(id=gone.user_id, name=gone.name)
                await self.publish(LeaveEvent(channel=name, user=user))
