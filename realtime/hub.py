"""The per-worker hub: this worker's connections, their channels, fan-out for every kind.

Per channel with local subscribers the hub holds ONE broker subscription. Each event is
decoded once and framed once (`Outgoing`) and then handed to every local subscriber by its
kind's overflow policy. Ordered events pass a per-channel Sequencer (realtime/sequencer.py)
first, so they reach each connection strictly in seq order, each exactly once; gaps are
filled by realtime/ordered.py from Redis history or PostgreSQL.

Subscribing is seam-safe for every kind: the subscription is registered (buffering live
events) before anything is read, then the replay (ordered) and the kind's `on_subscribe`
frames (snapshots, in-flight streams) are sent, then the buffer is handed over through the
same per-subscriber filter (stale versions and already-sent stream indexes are dropped)
with no await in between.

Live authorization (realtime/revocation.py): a revoked access never stays subscribed,
whenever the revocation arrives: before the subscription registers (refused), during its
set-up (ended with `unsubscribed` + reason once set up) or after (ended at once). No cost
per message: control messages are told apart only where a channel has no local state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker import Broker, PresenceEntry
from domain.events import PERSONAL_BATCH, EventHeader, decode, split_personal
from domain.revocations import CONTROL_CHANNEL
from domain.tasks import every, spawn
from realtime import kinds as _builtin_kinds  # noqa: F401 - registers the built-in kinds
from realtime.authorizer import Authorizer
from realtime.broker_channels import BrokerChannels
from realtime.channels import (
    ChannelKind,
    Delivery,
    KindContext,
    Overflow,
    StreamPosition,
    SubscribeRequest,
    kind_of,
)
from realtime.connection import CloseCode, Connection, LatestSlot, Outgoing
from realtime.deadlines import Deadlines
from realtime.ordered import OrderedDelivery
from realtime.overflow import OverflowReplay
from realtime.presence import Ephemeral, Presence
from realtime.presence_diff import PresenceCoalescer
from realtime.revocation import Revocations
from realtime.server_frames import SubscribedFrame, dump
from realtime.subscriptions import (
    NO_HEADER,
    ChannelState,
    Subscription,
    outgoing,
)

log = logging.getLogger("parley.hub")


class Authorized(NamedTuple):
    """A subscribe's authorization, taken before the subscribe itself (SSE answers a
    refusal as an HTTP status before its stream starts)."""

    mark: int  # the revocation epoch before the check
    kind: ChannelKind
    key: int
    role: str | None


REPLAY_PAGE = 500
_JOIN_LEAVE = frozenset({"join", "leave"})


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
        self.context = KindContext(sessions=sessions, broker=broker)
        self.presence = Presence(broker, presence_ttl)
        self.coalescer = PresenceCoalescer(broker, self._deliver_diff)
        self.authorizer = Authorizer(sessions)
        self._backlog_limit = backlog_limit
        self.connections: dict[str, Connection] = {}
        self._conn_channels: dict[str, set[str]] = {}
        self.ordered = OrderedDelivery(self, sessions)
        self.broker_channels = BrokerChannels(broker, self.ordered, self.coalescer)
        # The same dict, read directly on the delivery path (no call per message).
        self.channels: dict[str, ChannelState] = self.broker_channels.channels
        self.revocations = Revocations(self)
        self.overflow = OverflowReplay(self)
        # Every socket's receive deadline, on one timer (realtime/deadlines.py).
        self.deadlines = Deadlines()
        self._tasks: list[asyncio.Task[None]] = []
        broker.set_handlers(self._on_broker_message, self.ordered.on_broker_reconnected)

    # --- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        self._tasks = [
            spawn(every(self.presence.ttl / 4, self._presence_tick), name="hub-presence"),
            spawn(every(self.ordered.check_every, self.ordered.check_heads), name="hub-head-check"),
        ]
        await self.revocations.start()

    async def close(self, code: CloseCode = CloseCode.restarting) -> None:
        """Tell every client to reconnect elsewhere and forget this worker's presence."""
        for task in self._tasks:
            task.cancel()
        self.revocations.close()
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
        conn.on_drained = lambda: self.overflow.on_drained(conn)
        self.revocations.admit(conn)  # its token may have been revoked while it connected

    async def disconnect(self, conn: Connection) -> None:
        for channel in list(self._conn_channels.get(conn.id, ())):
            with contextlib.suppress(Exception):
                await self.unsubscribe(conn, channel)
        self._conn_channels.pop(conn.id, None)
        self.connections.pop(conn.id, None)

    def is_subscribed(self, conn: Connection, channel: str) -> bool:
        return channel in self._conn_channels.get(conn.id, ())

    def channels_of(self, conn: Connection) -> list[str]:
        """The channels `conn` is subscribed to here (a copy)."""
        return list(self._conn_channels.get(conn.id, ()))

    # --- subscribe / unsubscribe ----------------------------------------------------------
    async def authorize(self, user_id: int, channel: str) -> tuple[ChannelKind, int, str | None]:
        """Check the channel name and the user's right to read it; the kind, the id and
        the user's role in it (if the kind has roles). Raises Invalid, NotFound or
        Forbidden."""
        kind, key = kind_of(channel)
        return kind, key, await self.authorizer.authorize(kind, user_id, key)

    async def authorize_subscribe(self, user_id: int, channel: str) -> Authorized:
        """`authorize` for a `subscribe` that follows (pass it as `authorized=`): the
        check runs, and is audited, once, and a revocation in between still counts."""
        mark = self.revocations.mark()  # before authorizing: see the module docstring
        kind, key, role = await self.authorize(user_id, channel)
        return Authorized(mark, kind, key, role)

    async def subscribe(
        self,
        conn: Connection,
        channel: str,
        since: int | None,
        ref: str | None,
        stream: StreamPosition | None = None,
        *,
        authorized: Authorized | None = None,
    ) -> None:
        """Authorize (unless `authorized` by `authorize_subscribe` for this user and
        channel), subscribe, answer `subscribed` (+ `presence`), replay, then go live.

        Raises Invalid / NotFound / Forbidden (nothing changed) or Unavailable (Redis down);
        on any failure or cancellation the subscription is undone.
        """
        if authorized is None:
            authorized = await self.authorize_subscribe(conn.user.id, channel)
        mark, kind, key, role = authorized
        # Subscribing again (e.g. to change `since`) is not a join: the user never left.
        resubscribe = self.is_subscribed(conn, channel)
        if resubscribe:
            await self.unsubscribe(conn, channel, announce=False)

        ch = await self.broker_channels.acquire(channel, kind, key)
        ordered = kind.delivery is Delivery.ordered
        if ordered and since is not None and since > (ch.seq.last or 0):
            # The client saw more than this worker has delivered (it was on a worker that
            # is ahead): catch up with storage first, so `head` is never behind the client.
            await self.ordered.sync_with_storage(ch)
        # No await between reading the head and registering: the seam is here.
        head = (ch.seq.last or 0) if ordered else 0
        entry = PresenceEntry(conn.user.id, conn.user.name, self.node, conn.id)
        sub = Subscription(conn, ch, entry if kind.presence else None)
        if kind.overflow is Overflow.keep_latest:
            sub.slots = {}
        if stream is not None:  # the client holds indexes up to this one: never resend them
            sub.streams[stream.id] = stream.index
        ch.add(sub)
        self._conn_channels[conn.id].add(channel)
        announced = False
        try:
            self.revocations.check(mark, conn, channel)
            if sub.presence is not None:
                announced = await self.presence.enter(
                    channel, sub.presence, conn.user, quiet=resubscribe
                )
            recovered = not ordered or since is None or since <= head
            conn.offer(
                dump(SubscribedFrame(ref=ref, channel=channel, head=head, recovered=recovered))
            )
            if sub.presence is not None:
                snapshot = await self.presence.snapshot(channel)
                self.coalescer.seen(channel, snapshot.count)
                conn.offer(snapshot.model_dump_json())
            if ordered and since is not None and recovered:
                await self._replay(ch, sub, since, head)
            if kind.on_subscribe is not None:
                request = SubscribeRequest(conn.user.id, key, since, stream, role)
                await sub.catch_up(await kind.on_subscribe(self.context, request))
            await sub.hand_over()  # what arrived meanwhile, paced like the replay
            sub.backlog = None  # live from here: no await since the backlog was empty
            if sub.revoked is not None:  # access was lost during set-up: end it now
                self.detach(conn, channel)
                self.revocations.notify(conn, channel, sub.revoked)
                await self.settle(channel, sub)
        except BaseException:
            await self.unsubscribe(conn, channel, announce=announced)
            raise

    async def _replay(self, ch: ChannelState, sub: Subscription, since: int, head: int) -> None:
        after = since
        while after < head and sub.conn.close_code is None and sub.revoked is None:
            upto = min(head, after + REPLAY_PAGE)
            for _, out in await self.ordered.load(ch, after, upto):
                await sub.conn.put(out)  # flow-controlled: waits for the client
            after = upto

    async def unsubscribe(self, conn: Connection, channel: str, *, announce: bool = True) -> None:
        sub = self.detach(conn, channel)
        await self.settle(channel, sub, announce=announce)

    def detach(self, conn: Connection, channel: str) -> Subscription | None:
        """Synchronously stop delivering `channel` to `conn` (then `settle` it)."""
        self._conn_channels.get(conn.id, set()).discard(channel)
        ch = self.channels.get(channel)
        return ch.remove(conn) if ch is not None else None

    async def settle(
        self, channel: str, sub: Subscription | None, *, announce: bool = True
    ) -> None:
        """After `detach`: presence exit (`leave` unless quiet) and channel release."""
        if sub is not None and sub.presence is not None:
            await self.presence.exit(channel, sub.presence, sub.conn.user, quiet=not announce)
        if channel in self.channels:
            await self.broker_channels.release(channel)

    # --- delivery -----------------------------------------------------------------------
    def _on_broker_message(self, channel: str, data: bytes) -> None:
        ch = self.channels.get(channel)
        if ch is None:
            if channel == CONTROL_CHANNEL:  # never a channel with local state
                self.revocations.on_message(data)
            return
        try:
            header, frame = decode(data)
        except ValueError:
            log.warning("dropped a foreign message", extra={"channel": channel})
            return
        if header.to == PERSONAL_BATCH:
            self._fan_personal(ch, header, frame)
            return
        if header.to is not None and header.seq is None and header.to not in ch.by_user:
            return  # personal, for a user with no subscription here: nothing to frame
        if (
            header.type in _JOIN_LEAVE
            and ch.kind.presence
            and self.coalescer.take(channel, header, frame)
        ):
            return  # goes out in the channel's next `presence_diff`
        out = outgoing(header, frame, live=True)
        if header.seq is not None and ch.kind.delivery is Delivery.ordered:
            self.ordered.accept(ch, header.seq, out)
        else:
            self.fanout(ch, header, out)

    def _fan_personal(self, ch: ChannelState, header: EventHeader, body: str) -> None:
        """A personal batch: each event to its user's subscriptions here, if any."""
        try:
            pairs = split_personal(body)
        except ValueError:
            log.warning("dropped a foreign message", extra={"channel": ch.name})
            return
        # Addressed here, by user: the events go out under one header with no `to` (a
        # copy per user was most of this loop's cost), so nothing downstream filters again.
        shared: EventHeader | None = None
        for user_id, frame in pairs:
            if user_id in ch.by_user:
                if shared is None:
                    shared = header.model_copy(update={"to": None})
                self.fanout(ch, shared, outgoing(shared, frame, live=True), ch.of_user(user_id))

    def _deliver_diff(self, channel: str, out: Outgoing) -> None:
        ch = self.channels.get(channel)
        if ch is not None:
            self.fanout(ch, None, out)

    def fanout(
        self,
        ch: ChannelState,
        header: EventHeader | None,
        out: Outgoing,
        subs: Iterable[Subscription] | None = None,
    ) -> None:
        """Hand one event to every local subscriber of the channel by its policy (to
        `subs` only, when given: the caller chose them)."""
        plain = header is None or (
            header.to is None and header.version is None and header.stream is None
        )
        if subs is None:
            subs = (
                ch.subs.values() if header is None or header.to is None else ch.of_user(header.to)
            )
        for sub in subs:
            if sub.backlog is not None:
                # Filtered at the hand-over, once, after the catch-up: filtering here too
                # would let a live snapshot's version shadow the catch-up one, and then
                # drop itself at the hand-over (the subscriber would get neither).
                if len(sub.backlog) < self._backlog_limit:
                    sub.backlog.append((header or NO_HEADER, out))
                else:
                    sub.conn.close(CloseCode.too_slow)
                continue
            if sub.lagging and header is not None and header.stream is not None:
                continue  # dropped until the replay brings it, in order
            if not plain and not sub.admit(header):
                continue
            if sub.slots is not None and header is not None and header.version is not None:
                slot = sub.slots.get(header.type)
                if slot is None:
                    slot = sub.slots[header.type] = LatestSlot()
                sub.conn.offer_latest(slot, out)
            elif ch.kind.overflow is Overflow.replay:
                if not sub.conn.offer_droppable(out):
                    sub.lagging = True
                    if header is not None and header.stream is not None:
                        # Not delivered after all: the replay starts from just before it.
                        sub.streams[header.stream] = (header.index or 0) - 1
            else:
                sub.conn.offer(out)

    # --- ephemeral events and presence ----------------------------------------------------
    async def publish_ephemeral(self, event: Ephemeral) -> None:
        await self.presence.publish(event)

    async def _presence_tick(self) -> None:
        held = [
            (ch.name, sub.presence)
            for ch in self.channels.values()
            for sub in ch.subs.values()
            if sub.presence is not None
        ]
        with_presence = [name for name, ch in self.channels.items() if ch.kind.presence]
        await self.presence.tick(held, with_presence)
