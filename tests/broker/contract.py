"""What the broker contract suites share: an inbox of deliveries and ways to wait on it.

Negative delivery checks use a fence instead of a sleep: after publishing to a channel that
must NOT be delivered, the test publishes to a subscribed "fence" channel from the same
client. Redis sends one pub/sub connection's messages in publish order, so once the fence
arrives, anything published before it would have arrived too.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable

from broker import Broker, PresenceEntry

HISTORY_CAP = 5
WITHIN = 10.0

ASHA_PHONE = PresenceEntry(user_id=7, name="Asha", node="node-a", conn_id="c1")
ASHA_LAPTOP = PresenceEntry(user_id=7, name="Asha", node="node-b", conn_id="c2")
RAVI = PresenceEntry(user_id=8, name="Ravi", node="node-a", conn_id="c3")


class Inbox:
    """The handlers a broker calls: what arrived, in order, and how often it reconnected."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.reconnects = 0
        self._changed = asyncio.Event()

    def on_message(self, channel: str, data: bytes) -> None:
        self.received.append((channel, data))
        self._changed.set()

    async def on_reconnect(self) -> None:
        self.reconnects += 1
        self._changed.set()

    def of(self, channel: str) -> list[bytes]:
        return [data for ch, data in self.received if ch == channel]

    async def until(self, condition: Callable[[], bool], within: float = WITHIN) -> None:
        async with asyncio.timeout(within):
            while not condition():
                self._changed.clear()
                await self._changed.wait()


def attach(broker: Broker) -> Inbox:
    inbox = Inbox()
    broker.set_handlers(inbox.on_message, inbox.on_reconnect)
    return inbox


async def eventually(check: Callable[[], Awaitable[bool]], within: float = WITHIN) -> None:
    """Poll an async condition until it holds (for time-based expiry)."""
    async with asyncio.timeout(within):
        while True:
            if await check():
                return
            await asyncio.sleep(0.02)


def unique(name: str) -> str:
    return f"{name}-{secrets.token_hex(4)}"


async def fence(broker: Broker, inbox: Inbox, channel: str) -> None:
    """Publish a marker on `channel` (subscribed) and wait until it has been delivered."""
    marker = secrets.token_bytes(8)
    await broker.publish(channel, marker)
    await inbox.until(lambda: marker in inbox.of(channel))
