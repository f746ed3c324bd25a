"""The broker: pub/sub with history (this module) plus the storage capabilities of
broker/stores.py. Both implementations honour every interface; tests run against both."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence

from broker.stores import KeyStore, PresenceStore, SortedSetStore, StreamStore

# Called from the broker's read loop for every event of a subscribed channel. It must not
# block or await: a slow handler would let Redis's output buffer for this client grow until
# Redis disconnects it. Hand the bytes on and return.
MessageHandler = Callable[[str, bytes], None]
# Called after the broker re-established its subscriptions following a connection loss;
# the hub then fills whatever was published while it was away.
ReconnectHandler = Callable[[], Awaitable[None]]


class PubSub(ABC):
    """Per-worker pub/sub with a capped history of durable events.

    Guarantees: `subscribe` returns only once the subscription is confirmed (events
    published after it returns are delivered); subscriptions are reference-counted, one
    upstream subscription per channel; after a connection loss the broker reconnects with
    capped, jittered backoff, resubscribes every channel and calls the reconnect handler.
    Delivery through pub/sub is at-most-once: durable events are also written to history,
    and gaps are filled from there (or from PostgreSQL) by the caller.
    """

    def __init__(self, node: str) -> None:
        self.node = node
        self._on_message: MessageHandler | None = None
        self._on_reconnect: ReconnectHandler | None = None

    def set_handlers(self, on_message: MessageHandler, on_reconnect: ReconnectHandler) -> None:
        self._on_message = on_message
        self._on_reconnect = on_reconnect

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> bool: ...

    # --- pub/sub -------------------------------------------------------------------------
    @abstractmethod
    async def publish(self, channel: str, data: bytes, *, seq: int | None = None) -> None:
        """Publish to every subscriber on every worker; with `seq`, also keep in history."""

    async def publish_many(self, channel: str, items: Sequence[bytes]) -> None:
        """Publish several events to one channel, in order (no history). Implementations
        send them in one round trip; this default publishes one at a time."""
        for data in items:
            await self.publish(channel, data)

    async def publish_durable(self, channel: str, items: Sequence[tuple[int, bytes]]) -> None:
        """Publish several durable events (seq, data) to one channel, in the order given,
        each also kept in history. Implementations send them in one round trip; this
        default publishes one at a time."""
        for seq, data in items:
            await self.publish(channel, data, seq=seq)

    @abstractmethod
    async def subscribe(self, channel: str) -> None: ...

    @abstractmethod
    async def unsubscribe(self, channel: str) -> None: ...

    @abstractmethod
    async def history(self, channel: str, after: int, upto: int) -> list[bytes] | None:
        """Durable events with after < seq <= upto, in order; None if history lacks any."""

    def _deliver(self, channel: str, data: bytes) -> None:
        if self._on_message is not None:
            self._on_message(channel, data)


class Broker(PubSub, PresenceStore, KeyStore, SortedSetStore, StreamStore, ABC):
    """Everything a worker needs from Redis, one connection pool behind all of it."""

    async def stream_publish(
        self, key: str, channel: str, data: bytes, *, maxlen: int, ttl: float, flag: str
    ) -> bool:
        """Append `data` to the stream `key` (as stream_append), THEN publish it on
        `channel` (ephemeral, no seq), and say whether the key `flag` exists (KeyStore).

        The order is guaranteed (a subscriber that reads the stream after registering
        misses nothing); the Redis broker sends all of it in one round trip. Raises what
        the parts raise; the append may have happened when the publish failed."""
        await self.stream_append(key, data, maxlen=maxlen, ttl=ttl)
        await self.publish(channel, data)
        return await self.has_key(flag)
