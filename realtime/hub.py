"""The per-worker hub: this worker's connections, their channels, ordered fan-out.

Per channel with local subscribers the hub holds ONE broker subscription and a sequencer:
durable events (with `seq`) are delivered to local subscribers strictly in seq order, each
exactly once. An event that arrives ahead of a missing one (two workers published into one
room concurrently, or a publish was lost to a crash or a Redis outage) is held back; after
a short grace period the gap is filled from Redis history, else PostgreSQL, where it is
guaranteed to be (seq order equals commit order and events are published after commit).
A periodic head check and the broker's reconnect hook catch gaps that no later event
reveals.

Subscribing with `since` is seam-safe: the connection is registered (paused, buffering
live events) at a known head L before history (since, L] is read, then replay and the
buffer are handed over in one step with no await in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker import Broker, PresenceEntry
from domain.errors import NotFound, Unavailable
from domain.events import (
    JoinEvent,
    LeaveEvent,
    PresenceEvent,
    TypingEvent,
    UserRef,
    decode,
    encode,
)
from realtime.channels import KINDS, ChannelKind, parse_channel
from realtime.connection import CloseCode, Connection
from realtime.frames import SubscribedFrame, dump
from realtime.supervise import every, spawn

log = logging.getLogger("parley.hub")

Ephemeral = JoinEvent | LeaveEvent | PresenceEvent | TypingEvent

REORDER_GRACE_SECONDS = 0.05
REPLAY_PAGE = 500
HEAD_CHECK_SECONDS = 5.0
SUBSCRIBE_TIMEOUT_SECONDS = 10.0  # the broker's own confirmation wait is 5 s


@dataclass(slots=True)
class Subscription:
    conn: Connection
    presence: PresenceEntry
    # Not None while the subscription is replaying: live frames wait here, in order.
    backlog: list[str] | None = None


@dataclass(slots=True)
class _LockSlot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


@dataclass(slots=True)
class ChannelState:
    name: str
    kind: ChannelKind
    key: int
    subs: dict[str, Subscription] = field(default_factory=dict)
    last_seq: int | None = None  # None until the head is known (subscription confirmed)
    pending: dict[int, str] = field(default_factory=dict)
    filler: asyncio.Task[None] | None = None


class Hub:
    def __init__(
        self,
        broker: Broker,
        sessions: async_sessionmaker[AsyncSession],
        *,
        presence_ttl: float = 30.0,
        backlog_limit: int = 2048,
    ) -> None:
        self.broker = broker
        self.node = broker.node
        self._sessions = sessions
        self._presence_ttl = presence_ttl
        self._backlog_limit = backlog_limit
        self.connections: dict[str, Connection] = {}
        self.channels: dict[str, ChannelState] = {}
        self._conn_channels: dict[str, set[str]] = {}
        self._locks: dict[str, _LockSlot] = {}
        self._tasks: list[asyncio.Task[None]] = []
        broker.set_handlers(self._on_broker_message, self._on_broker_reconnected)

    # --- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        self._tasks = [
            spawn(every(self._presence_ttl / 4, self._presence_tick), name="hub-presence"),
            spawn(every(HEAD_CHECK_SECONDS, self.check_heads), name="hub-head-check"),
        ]

    async def close(self, code: CloseCode = CloseCode.restarting) -> None:
        """Tell every client to reconnect elsewhere and forget this worker's presence."""
        for task in self._tasks:
            task.cancel()
        conns = list(self.connections.values())
        for conn in conns:
            conn.close(code)
        if conns:
            # All at once, under one deadline: shutdown must not wait on each in turn.
            await asyncio.wait(
                [spawn(self.disconnect(c), name="hub-drain") for c in conns], timeout=5
            )

    # --- connections ----------------------------------------------------------------------
    def register(self, conn: Connection) -> None:
        self.connections[conn.id] = conn
        self._conn_channels[conn.id] = set()

    async def disconnect(self, conn: Connection) -> None:
        for channel in list(self._conn_channels.get(conn.id, ())):
            with contextlib.suppress(Exception):
                await self.unsubscribe(conn, channel)
        self._conn_channels.pop(conn.id, None)
        self.connections.pop(conn.id, None)

    def is_subscribed(self, conn: Connection, channel: str) -> bool:
        return channel in self._conn_channels.get(conn.id, ())

    # --- subscribe / unsubscribe ----------------------------------------------------------
    async def authorize(self, user_id: int, channel: str) -> tuple[ChannelKind, int]:
        """Check the channel name and the user's right to read it. Raises Invalid,
        NotFound or Forbidden."""
        kind_name, key = parse_channel(channel)
        kind = KINDS.get(kind_name)
        if kind is None:
            raise NotFound(f"There is no channel kind {kind_name!r}.")
        async with self._sessions() as session:
            await kind.authorize(session, user_id, key)
        return kind, key

    async def subscribe(
        self, conn: Connection, channel: str, since: int | None, ref: str | None
    ) -> None:
        """Authorize, subscribe, answer `subscribed` + `presence`, replay, then go live.

        Raises Invalid / NotFound / Forbidden (nothing changed) or Unavailable (Redis down);
        on any failure or cancellation the subscription is undone.
        """
        kind, key = await self.authorize(conn.user.id, channel)
        # Subscribing again (e.g. to change `since`) is not a join: the user never left.
        resubscribe = self.is_subscribed(conn, channel)
        if resubscribe:
            await self.unsubscribe(conn, channel, announce=False)

        ch = await self._acquire(channel, kind, key)
        if since is not None and since > (ch.last_seq or 0):
            # The client saw more than this worker has delivered (it was on a worker that
            # is ahead): catch up with storage first, so `head` is never behind the client.
            await self._sync_with_storage(ch)
        # No await between reading the head and registering: the seam is here.
        head = ch.last_seq or 0
        entry = PresenceEntry(conn.user.id, conn.user.name, self.node, conn.id)
        sub = Subscription(conn, entry, backlog=[])
        ch.subs[conn.id] = sub
        self._conn_channels[conn.id].add(channel)
        announced = False
        try:
            first = await self.broker.presence_add(channel, entry, self._presence_ttl)
            if first and not resubscribe:
                await self.publish_ephemeral(JoinEvent(channel=channel, user=conn.user))
                announced = True
            online = await self.broker.presence_list(channel)
            recovered = since is None or since <= head
            conn.offer(
                dump(SubscribedFrame(ref=ref, channel=channel, head=head, recovered=recovered))
            )
            conn.offer(PresenceEvent(channel=channel, online=_users(online)).model_dump_json())
            if since is not None and recovered:
                await self._replay(ch, sub, since, head)
            # Hand over what arrived live meanwhile, paced like the replay, still paused.
            while sub.backlog:
                batch, sub.backlog = sub.backlog, []
                for frame in batch:
                    await conn.put(frame)
            sub.backlog = None  # live from here: no await since the backlog was empty
        except BaseException:
            await self.unsubscribe(conn, channel, announce=announced)
            raise

    async def _replay(self, ch: ChannelState, sub: Subscription, since: int, head: int) -> None:
        after = since
        while after < head and sub.conn.close_code is None:
            upto = min(head, after + REPLAY_PAGE)
            for _, frame in await self._load(ch, after, upto):
                await sub.conn.put(frame)  # flow-controlled: waits for the client
            after = upto

    async def unsubscribe(self, conn: Connection, channel: str, *, announce: bool = True) -> None:
        self._conn_channels.get(conn.id, set()).discard(channel)
        ch = self.channels.get(channel)
        if ch is None:
            return
        sub = ch.subs.pop(conn.id, None)
        if sub is not None:
            try:
                last = await self.broker.presence_remove(channel, sub.presence)
                if last and announce:
                    await self.publish_ephemeral(LeaveEvent(channel=channel, user=conn.user))
            except Exception as exc:  # noqa: BLE001 - presence expires by itself
                log.info("presence remove failed", extra={"error": repr(exc)})
        await self._release(channel)

    @contextlib.asynccontextmanager
    async def _channel_lock(self, channel: str) -> AsyncIterator[None]:
        """Serializes acquire/release of one channel; the lock lives while anyone holds
        or waits for it (removing it earlier would let two acquires run at once)."""
        slot = self._locks.get(channel)
        if slot is None:
            slot = self._locks[channel] = _LockSlot()
        slot.users += 1
        try:
            async with slot.lock:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                del self._locks[channel]

    async def _acquire(self, channel: str, kind: ChannelKind, key: int) -> ChannelState:
        async with self._channel_lock(channel):
            ch = self.channels.get(channel)
            if ch is not None:
                return ch
            ch = ChannelState(channel, kind, key)
            self.channels[channel] = ch
            try:  # returns once Redis confirmed it; bounded so a subscribe is always answered
                async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                    await self.broker.subscribe(channel)
            except BaseException as exc:
                # Failed or cancelled (client gone): leave nothing half-made behind.
                self.channels.pop(channel, None)
                if isinstance(exc, ConnectionError | TimeoutError):
                    raise Unavailable("Live delivery is unavailable right now.") from exc
                raise
            try:
                async with self._sessions() as session:
                    heads = await kind.heads(session, [key])
            except BaseException:
                self.channels.pop(channel, None)
                with contextlib.suppress(Exception):
                    await self.broker.unsubscribe(channel)
                raise
            ch.last_seq = heads.get(key, 0)
            self._drain(ch)
            return ch

    async def _release(self, channel: str) -> None:
        async with self._channel_lock(channel):
            ch = self.channels.get(channel)
            if ch is None or ch.subs:
                return
            del self.channels[channel]
            if ch.filler is not None:
                ch.filler.cancel()
            with contextlib.suppress(Exception):
                await self.broker.unsubscribe(channel)

    # --- delivery -----------------------------------------------------------------------
    def _on_broker_message(self, channel: str, data: bytes) -> None:
        ch = self.channels.get(channel)
        if ch is None:
            return
        try:
            header, frame = decode(data)
        except ValueError:
            log.warning("dropped a foreign message", extra={"channel": channel})
            return
        if header.seq is None:
            self._fanout(ch, frame)
        else:
            self._accept(ch, header.seq, frame)

    def _accept(self, ch: ChannelState, seq: int, frame: str) -> None:
        if ch.last_seq is None or seq > ch.last_seq + 1:
            if ch.last_seq is None or seq > ch.last_seq:
                ch.pending[seq] = frame
            self._schedule_fill(ch)
            return
        if seq <= ch.last_seq:
            return  # duplicate (replayed, re-published or recovered already)
        self._fanout(ch, frame)
        ch.last_seq = seq
        self._drain(ch)

    def _drain(self, ch: ChannelState) -> None:
        if ch.last_seq is None:
            return
        for seq in [s for s in ch.pending if s <= ch.last_seq]:
            del ch.pending[seq]
        while (nxt := ch.pending.pop(ch.last_seq + 1, None)) is not None:
            self._fanout(ch, nxt)
            ch.last_seq += 1
        if ch.pending:
            self._schedule_fill(ch)

    def _fanout(self, ch: ChannelState, frame: str) -> None:
        for sub in ch.subs.values():
            if sub.backlog is None:
                sub.conn.offer(frame)
            elif len(sub.backlog) < self._backlog_limit:
                sub.backlog.append(frame)
            else:
                sub.conn.close(CloseCode.too_slow)

    def _schedule_fill(self, ch: ChannelState) -> None:
        if ch.filler is None and ch.last_seq is not None:
            ch.filler = spawn(self._fill(ch), name="hub-fill")

    async def _fill(self, ch: ChannelState) -> None:
        """Fill a gap below the lowest held-back event from history or PostgreSQL."""
        try:
            # Most gaps are two publishes crossing on the wire: give the missing one a
            # moment to arrive before going to storage.
            await asyncio.sleep(REORDER_GRACE_SECONDS)
            while ch.pending and ch.last_seq is not None and self.channels.get(ch.name) is ch:
                upto = min(ch.pending) - 1
                if upto <= ch.last_seq:
                    self._drain(ch)
                    continue
                before = ch.last_seq
                await self._catch_up(ch, upto)
                if ch.last_seq == before:
                    await self._drop_impossible(ch)
                    if ch.last_seq == before and ch.pending:
                        break  # nothing to fill yet; the next event or head check retries
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - Redis down: storage still has everything
            log.warning("gap fill failed", extra={"channel": ch.name, "error": repr(exc)})
        finally:
            ch.filler = None

    async def _drop_impossible(self, ch: ChannelState) -> None:
        """Forget held-back seqs beyond the stored head: storage never had them.

        Events are published after commit, so a genuine seq is always in storage by the
        time it arrives. Anything above the head is foreign (anyone can publish on a Redis
        channel) or from a room that no longer exists; waiting for it would stall the
        channel and keep querying storage.
        """
        async with self._sessions() as session:
            head = (await ch.kind.heads(session, [ch.key])).get(ch.key, 0)
        for seq in [s for s in ch.pending if s > head]:
            del ch.pending[seq]
            log.warning("dropped an event beyond the stored head", extra={"channel": ch.name})
        if ch.last_seq is not None and head > ch.last_seq:
            await self._catch_up(ch, head)

    async def _catch_up(self, ch: ChannelState, upto: int) -> None:
        assert ch.last_seq is not None
        for seq, frame in await self._load(ch, ch.last_seq, upto):
            self._accept(ch, seq, frame)

    async def _load(self, ch: ChannelState, after: int, upto: int) -> list[tuple[int, str]]:
        """Durable frames after < seq <= upto: Redis history if complete, else PostgreSQL."""
        try:
            items = await self.broker.history(ch.name, after, upto)
        except Exception:  # noqa: BLE001 - retried by the next event or head check
            items = None
        if items is not None:
            try:
                return [(header.seq or 0, frame) for header, frame in map(decode, items)]
            except ValueError:
                log.warning("unreadable history entry; using storage", extra={"channel": ch.name})
        async with self._sessions() as session:
            return await ch.kind.load(session, ch.key, after, upto)

    async def check_heads(self) -> None:
        """Compare every local channel's position with storage; fill what was missed."""
        by_kind: dict[str, list[ChannelState]] = {}
        for ch in list(self.channels.values()):
            if ch.last_seq is not None:
                by_kind.setdefault(ch.kind.name, []).append(ch)
        for kind_name, states in by_kind.items():
            kind = KINDS[kind_name]
            async with self._sessions() as session:
                heads = await kind.heads(session, [c.key for c in states])
            for ch in states:
                head = heads.get(ch.key, 0)
                if ch.last_seq is not None and head > ch.last_seq and ch.filler is None:
                    try:
                        await self._catch_up(ch, head)
                    except Exception as exc:  # noqa: BLE001 - one channel must not stop the rest
                        log.warning(
                            "catch-up failed", extra={"channel": ch.name, "error": repr(exc)}
                        )

    async def _sync_with_storage(self, ch: ChannelState) -> None:
        """Deliver whatever storage has beyond this worker's position on one channel."""
        async with self._sessions() as session:
            head = (await ch.kind.heads(session, [ch.key])).get(ch.key, 0)
        if ch.last_seq is not None and head > ch.last_seq:
            await self._catch_up(ch, head)

    async def _on_broker_reconnected(self) -> None:
        try:
            await self.check_heads()
        except Exception as exc:  # noqa: BLE001 - the periodic head check retries
            log.warning("head check after reconnect failed", extra={"error": repr(exc)})

    # --- ephemeral events and presence ----------------------------------------------------
    async def publish_ephemeral(self, event: Ephemeral) -> None:
        await self.broker.publish(event.channel, encode(event, self.node))

    async def _presence_tick(self) -> None:
        entries = [
            (ch.name, sub.presence) for ch in self.channels.values() for sub in ch.subs.values()
        ]
        await self.broker.presence_refresh(entries, self._presence_ttl)
        for name in list(self.channels):
            for gone in await self.broker.presence_sweep(name):
                user = UserRef(id=gone.user_id, name=gone.name)
                await self.publish_ephemeral(LeaveEvent(channel=name, user=user))


def _users(entries: list[PresenceEntry]) -> list[UserRef]:
    seen: dict[int, UserRef] = {}
    for e in entries:
        seen.setdefault(e.user_id, UserRef(id=e.user_id, name=e.name))
    return sorted(seen.values(), key=lambda u: u.id)
