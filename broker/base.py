"""The broker interface both implementations honour (tests run against both)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

# Called from the broker's read loop for every event of a subscribed channel. It must not
# block or await: a slow handler would let Redis's output buffer for this client grow until
# Redis disconnects it. Hand the bytes on and return.
MessageHandler = Callable[[str, bytes], None]
# Called after the broker re-established its subscriptions following a connection loss;
# the hub then fills whatever was published while it was away.
ReconnectHandler = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PresenceEntry:
    """One connection's presence in a channel."""

    user_id: int
    name: str
    node: str
    conn_id: str

    def member(self) -> str:
        return f"{self.user_id}|{self.node}|{self.conn_id}|{self.name}"

    @classmethod
    def parse(cls, member: str) -> PresenceEntry:
        user_id, node, conn_id, name = member.split("|", 3)
        return cls(int(user_id), name, node, conn_id)


class Broker(ABC):
    """Per-worker pub/sub with history and presence.

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

    @abstractmethod
    async def subscribe(self, channel: str) -> None: ...

    @abstractmethod
    async def unsubscribe(self, channel: str) -> None: ...

    @abstractmethod
    async def history(self, channel: str, after: int, upto: int) -> list[bytes] | None:
        """Durable events with after < seq <= upto, in order; None if history lacks any."""

    # --- presence ------------------------------------------------------------------------
    @abstractmethod
    async def presence_add(self, channel: str, entry: PresenceEntry, ttl: float) -> bool:
        """Add or refresh; True when this is the user's first live entry in the channel."""

    @abstractmethod
    async def presence_refresh(self, entries: list[tuple[str, PresenceEntry]], ttl: float) -> None:
        """Extend the expiry of many (channel, entry) pairs in one round trip."""

    @abstractmethod
    async def presence_remove(self, channel: str, entry: PresenceEntry) -> bool:
        """Remove; True when this removed the user's last live entry in the channel."""

    @abstractmethod
    async def presence_list(self, channel: str) -> list[PresenceEntry]:
        """Live entries (expired ones excluded)."""

    @abstractmethod
    async def presence_sweep(self, channel: str) -> list[PresenceEntry]:
        """Drop expired entries; return those whose user now has no live entry (went away).

        Exactly one caller gets each expired entry, so one `leave` is sent per user.
        """

    # --- short-lived keys ----------------------------------------------------------------
    @abstractmethod
    async def set_key(self, key: str, value: str, ttl: float) -> None: ...

    @abstractmethod
    async def claim_key(self, key: str, value: str, ttl: float) -> bool:
        """Set only if absent, atomically; True for the one caller that set it."""

    @abstractmethod
    async def take_key(self, key: str) -> str | None:
        """Get and delete atomically (single-use tickets)."""

    @abstractmethod
    async def has_key(self, key: str) -> bool: ...

    def _deliver(self, channel: str, data: bytes) -> None:
        if self._on_message is not None:
            self._on_message(channel, data)
