"""This worker's channels with local subscribers, each backed by ONE broker subscription.

`acquire` opens a channel on its first local subscriber (its state, the broker SUBSCRIBE,
confirmed by Redis, and for an ordered kind the head read); `release` closes it once the last
one is gone. Both run under a per-channel lock, so a subscribe queued behind a release never
sees a half-made channel. Nothing here is on the delivery path: the hub reads `channels`
directly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from broker import Broker
from domain.errors import Unavailable
from realtime.channels import ChannelKind, Delivery
from realtime.ordered import OrderedDelivery
from realtime.presence_diff import PresenceCoalescer
from realtime.subscriptions import ChannelState

SUBSCRIBE_TIMEOUT_SECONDS = 10.0  # the broker's own confirmation wait is 5 s


@dataclass(slots=True)
class LockSlot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class BrokerChannels:
    def __init__(
        self, broker: Broker, ordered: OrderedDelivery, coalescer: PresenceCoalescer
    ) -> None:
        self._broker = broker
        self._ordered = ordered
        self._coalescer = coalescer
        self.channels: dict[str, ChannelState] = {}
        self._locks: dict[str, LockSlot] = {}

    @contextlib.asynccontextmanager
    async def _channel_lock(self, channel: str) -> AsyncIterator[None]:
        """Serializes acquire/release of one channel; the lock lives while anyone holds
        or waits for it (removing it earlier would let two acquires run at once)."""
        slot = self._locks.get(channel)
        if slot is None:
            slot = self._locks[channel] = LockSlot()
        slot.users += 1
        try:
            async with slot.lock:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._locks[channel]

    async def acquire(self, channel: str, kind: ChannelKind, key: int) -> ChannelState:
        async with self._channel_lock(channel):
            ch = self.channels.get(channel)
            if ch is not None:
                return ch
            ch = ChannelState(channel, kind, key)
            self.channels[channel] = ch
            try:  # returns once Redis confirmed it; bounded so a subscribe is always answered
                async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                    await self._broker.subscribe(channel)
            except BaseException as exc:
                # Failed or cancelled (client gone): leave nothing half-made behind.
                self.channels.pop(channel, None)
                if isinstance(exc, ConnectionError | TimeoutError):
                    raise Unavailable("Live delivery is unavailable right now.") from exc
                raise
            if kind.delivery is Delivery.ordered:
                try:
                    await self._ordered.start(ch)
                except BaseException:
                    self.channels.pop(channel, None)
                    with contextlib.suppress(Exception):
                        await self._broker.unsubscribe(channel)
                    raise
            return ch

    async def release(self, channel: str) -> None:
        async with self._channel_lock(channel):
            ch = self.channels.get(channel)
            if ch is None or ch.subs:
                return
            del self.channels[channel]
            self._coalescer.forget(channel)
            if ch.filler is not None:
                ch.filler.cancel()
            with contextlib.suppress(Exception):
                await self._broker.unsubscribe(channel)
