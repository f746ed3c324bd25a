"""Coalesced presence for crowded channels: `join`/`leave` become one `presence_diff` per
channel per window on each worker (decision 0033).

A channel whose online count (as this worker last learned it) is above `threshold` — the
users a `presence` snapshot lists, so the snapshot is incomplete anyway — no longer gets one
frame per `join`/`leave` per subscriber (O(n²) frames while a room of n fills up). Instead
the joins and leaves that reach this worker within `window` seconds are merged (the last
event per user wins: applying it alone gives the same set as applying them all in order)
and go out as ONE `presence_diff` frame, framed once and written to every local subscriber,
with `count` read from the broker at flush time. So a subscriber gets at most one presence
frame per window however fast members join, and a client that applies the snapshot and then
each diff in order ends with the server's online set and count.

At or below the threshold nothing changes: `join`/`leave` pass through as before, so rooms
with a complete snapshot look exactly as they did to old clients. Presence entries, their
expiry and the sweep's exactly-once `leave` are untouched: this only changes how the
resulting events are framed on the way out of a worker.

A window holds at most one change per user, but a burst can hold thousands of users; it
goes out as consecutive frames of at most `MAX_USERS_PER_FRAME` users each (the same
`count` on each), so no frame outgrows what a client accepts (1 MiB by default in the
`websockets` client) however large the burst. Applying them in order is applying the
window: no user is in two of them.

Guarantees: per channel, frames keep their order (while a window is open or flushing, every
`join`/`leave` waits in it, even once the room has shrunk). Failure mode: if the broker
cannot say the count at flush time, the diff carries this worker's estimate (last count
plus joins minus leaves) and the next diff corrects it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from broker import Broker
from domain.events import EventHeader, PresenceDiffEvent, UserRef
from domain.tasks import spawn
from realtime.connection import Outgoing
from realtime.subscriptions import outgoing

log = logging.getLogger("parley.presence")

WINDOW_SECONDS = 0.25
# Coalesce above this many users online: the number a `presence` snapshot lists
# (realtime/presence.py SNAPSHOT_LIMIT), the size at which `online` stops being complete.
THRESHOLD = 100
# ~40 bytes a user: a frame stays near 40 KB.
MAX_USERS_PER_FRAME = 1000

Deliver = Callable[[str, Outgoing], None]


@dataclass(slots=True)
class _Window:
    # user id -> (name, True for joined / False for left): the user's last event wins.
    changes: dict[int, tuple[str, bool]] = field(default_factory=dict)


class PresenceCoalescer:
    """Per worker: decides for each incoming `join`/`leave` whether it goes out as is or
    waits for the channel's next `presence_diff`."""

    def __init__(
        self,
        broker: Broker,
        deliver: Deliver,
        *,
        window: float = WINDOW_SECONDS,
        threshold: int = THRESHOLD,
    ) -> None:
        self.broker = broker
        self._deliver = deliver
        self.window = window
        self.threshold = threshold
        self._online: dict[str, int] = {}  # last known count per open channel
        self._windows: dict[str, _Window] = {}

    def seen(self, channel: str, count: int) -> None:
        """A snapshot of the channel was read: its count is the best one this worker has."""
        self._online[channel] = count

    def forget(self, channel: str) -> None:
        """The channel was released here; an open window still flushes (to nobody)."""
        self._online.pop(channel, None)

    def take(self, channel: str, header: EventHeader, frame: str) -> bool:
        """True when this `join`/`leave` was taken into the channel's window (it will go
        out in a `presence_diff`); False when it is to be delivered as it is."""
        joined = header.type == "join"
        win = self._windows.get(channel)
        if win is None:
            online = self._online.get(channel)
            if online is None or online <= self.threshold:
                # Unknown size (no snapshot read here yet) or small: as before.
                if online is not None:
                    self._online[channel] = max(0, online + (1 if joined else -1))
                return False
        try:
            user = json.loads(frame)["user"]
            uid, name = int(user["id"]), str(user["name"])
        except (ValueError, KeyError, TypeError):
            return False  # not ours to merge: delivered as it is
        if win is None:
            win = self._windows[channel] = _Window()
            spawn(self._run(channel, win), name="hub-presence-diff")
        win.changes[uid] = (name, joined)
        return True

    async def _run(self, channel: str, win: _Window) -> None:
        """Flush the channel's window every `window` seconds while events keep coming."""
        try:
            while True:
                await asyncio.sleep(self.window)
                changes, win.changes = win.changes, {}
                count = await self._count(channel, changes)
                if channel in self._online:  # still open here (forget() drops it)
                    self._online[channel] = count
                header = EventHeader(origin=self.broker.node, type="presence_diff")
                users = list(changes.items())
                for start in range(0, len(users), MAX_USERS_PER_FRAME):
                    part = users[start : start + MAX_USERS_PER_FRAME]
                    event = PresenceDiffEvent(
                        channel=channel,
                        joined=[UserRef(id=u, name=n) for u, (n, j) in part if j],
                        left=[UserRef(id=u, name=n) for u, (n, j) in part if not j],
                        count=count,
                    )
                    self._deliver(channel, outgoing(header, event.model_dump_json()))
                if not win.changes:
                    return  # no await since the check: the next event opens a new window
        finally:
            del self._windows[channel]

    async def _count(self, channel: str, changes: dict[int, tuple[str, bool]]) -> int:
        try:
            return (await self.broker.presence_page(channel, 0)).total
        except Exception as exc:  # noqa: BLE001 - the estimate is corrected by the next diff
            log.info("presence count failed", extra={"error": type(exc).__name__})
            net = sum(1 if joined else -1 for _, joined in changes.values())
            return max(0, self._online.get(channel, 0) + net)
