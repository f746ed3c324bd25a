"""What the hub keeps per channel and per subscription on this worker, and how an event
becomes the one `Outgoing` frame every local subscriber receives."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from broker import PresenceEntry
from domain.events import EventHeader, decode
from domain.revocations import RevokeReason
from realtime.channels import ChannelKind
from realtime.connection import Connection, LatestSlot, Outgoing, text_frame
from realtime.sequencer import Sequencer


@dataclass(slots=True, eq=False)
class Subscription:
    conn: Connection
    channel: ChannelState
    presence: PresenceEntry | None
    # Not None while the subscription is being set up: live events wait here, in order.
    backlog: list[tuple[EventHeader, Outgoing]] | None = field(default_factory=list)
    # latest: the newest version handed over, per event type (a `board` and a personal
    # `rank` each carry their own version).
    versions: dict[str, int] = field(default_factory=dict)
    streams: dict[str, int] = field(default_factory=dict)  # indexed: last index per stream
    # keep_latest: the one queued frame per event type (a personal `rank` must not
    # displace a `board`), created on first use.
    slots: dict[str, LatestSlot] | None = None
    lagging: bool = False  # replay: live frames were dropped; replay once there is room
    revoked: RevokeReason | None = None  # access lost during set-up: end it once set up

    def admit(self, header: EventHeader | None) -> bool:
        """The per-subscriber filter: personal events, stale snapshots, stream indexes.

        Updates the subscriber's position when it admits an event (called once per event
        per subscriber, backlog included)."""
        if header is None:
            return True
        if header.to is not None and header.to != self.conn.user.id:
            return False
        if header.version is not None:
            if header.version <= self.versions.get(header.type, -1):
                return False
            self.versions[header.type] = header.version
        if header.stream is not None and header.index is not None:
            # -2: a stream's `stream_start` is index -1 (domain/bot/events.py), deltas 0...
            if header.index <= self.streams.get(header.stream, -2):
                return False
            self.streams[header.stream] = header.index
        return True

    async def catch_up(self, envelopes: list[bytes]) -> None:
        """Send a kind's catch-up frames (envelopes) through the filter, flow-controlled;
        none once access was revoked."""
        for envelope in envelopes:
            if self.revoked is not None:
                return
            header, frame = decode(envelope)
            if self.admit(header):
                await self.conn.put(outgoing(header, frame))

    async def hand_over(self) -> None:
        """Send what waited in the backlog, through the filter and paced by the client,
        until it is empty (or access was revoked). The caller ends buffering (`backlog =
        None`) with no await after this returns, so nothing can slip in between."""
        while self.backlog and self.revoked is None:
            batch, self.backlog = self.backlog, []
            for header, out in batch:
                if self.admit(header):
                    await self.conn.put(out)


@dataclass(slots=True, eq=False)
class ChannelState:
    name: str
    kind: ChannelKind
    key: int
    subs: dict[str, Subscription] = field(default_factory=dict)
    # The same subscriptions by user: a personal event (`to=user`, e.g. a board's `rank`
    # events, up to one per member per snapshot) visits only its user's subscriptions,
    # not every subscriber of the channel (that was members x watchers checks per window).
    by_user: dict[int, dict[str, Subscription]] = field(default_factory=dict)
    seq: Sequencer[Outgoing] = field(default_factory=Sequencer)
    filler: asyncio.Task[None] | None = None

    def add(self, sub: Subscription) -> None:
        self.subs[sub.conn.id] = sub
        self.by_user.setdefault(sub.conn.user.id, {})[sub.conn.id] = sub

    def remove(self, conn: Connection) -> Subscription | None:
        sub = self.subs.pop(conn.id, None)
        mine = self.by_user.get(conn.user.id)
        if mine is not None:
            mine.pop(conn.id, None)
            if not mine:
                del self.by_user[conn.user.id]
        return sub

    def of_user(self, user_id: int) -> list[Subscription]:
        """The user's subscriptions to this channel here (a copy: safe to offer while
        iterating)."""
        mine = self.by_user.get(user_id)
        return list(mine.values()) if mine else []


NO_HEADER = EventHeader(origin="", type="")


def outgoing(header: EventHeader, frame: str, *, live: bool = False) -> Outgoing:
    """The one frame every local subscriber gets, its WebSocket bytes built here, once.
    `live`: it came from pub/sub just now, so its publish time is kept for the
    delivery-lag metric (a replayed event's would be its age)."""
    wire = text_frame(frame)
    at = header.at if live else None
    if header.seq is not None:
        return Outgoing(frame, str(header.seq), header.type, wire, at)
    if header.version is not None:
        return Outgoing(frame, str(header.version), header.type, wire, at)
    if header.stream is not None:
        # SSE writes it as `<last seq>/<stream>:<index>` (realtime/sse.py), so a browser's
        # Last-Event-ID resumes both the durable seq and the answer in flight.
        return Outgoing(frame, f"{header.stream}:{header.index}", header.type, wire, at)
    return Outgoing(frame, None, header.type, wire, at)
