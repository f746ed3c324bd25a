"""Ordered delivery: the I/O around each channel's Sequencer (realtime/sequencer.py).

An event that arrives ahead of a missing one (two workers published into one room
concurrently, or a publish was lost to a crash or a Redis outage) is held back; after a
short grace period the gap is filled from Redis history, else PostgreSQL, where it is
guaranteed to be (seq order equals commit order and events are published after commit).
A periodic head check and the broker's reconnect hook catch gaps that no later event
reveals.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain import metrics
from domain.events import decode
from domain.tasks import spawn
from realtime.channels import Delivery
from realtime.connection import Outgoing, text_frame

if TYPE_CHECKING:
    from realtime.hub import Hub
    from realtime.subscriptions import ChannelState

log = logging.getLogger("parley.hub")

REORDER_GRACE_SECONDS = 0.05
HEAD_CHECK_SECONDS = 5.0


class OrderedDelivery:
    check_every = HEAD_CHECK_SECONDS

    def __init__(self, hub: Hub, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.hub = hub
        self._sessions = sessions

    async def _heads(self, ch: ChannelState) -> int:
        assert ch.kind.heads is not None
        async with self._sessions() as session:
            return (await ch.kind.heads(session, [ch.key])).get(ch.key, 0)

    async def start(self, ch: ChannelState) -> None:
        """Learn the head once the broker subscription is confirmed; deliver what was held."""
        head = await self._heads(ch)
        self._deliver(ch, ch.seq.start(head))
        if ch.seq.gap is not None:
            self._schedule_fill(ch)

    def accept(self, ch: ChannelState, seq: int, out: Outgoing) -> None:
        self._deliver(ch, ch.seq.offer(seq, out))
        if ch.seq.held:
            self._schedule_fill(ch)

    def _deliver(self, ch: ChannelState, outs: list[Outgoing]) -> None:
        for out in outs:
            self.hub.fanout(ch, None, out)

    def _schedule_fill(self, ch: ChannelState) -> None:
        if ch.filler is None and ch.seq.started:
            ch.filler = spawn(self._fill(ch), name="hub-fill")

    async def _fill(self, ch: ChannelState) -> None:
        """Fill the gap below the lowest held-back event from history or PostgreSQL."""
        try:
            # Most gaps are two publishes crossing on the wire: give the missing one a
            # moment to arrive before going to storage.
            await asyncio.sleep(REORDER_GRACE_SECONDS)
            while ch.seq.held and self.hub.channels.get(ch.name) is ch:
                gap = ch.seq.gap
                if gap is None:
                    break
                before = ch.seq.last
                await self._catch_up(ch, gap[1])
                if ch.seq.last == before:
                    await self._drop_impossible(ch)
                    if ch.seq.last == before and ch.seq.held:
                        break  # nothing to fill yet; the next event or head check retries
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - Redis down: storage still has everything
            log.warning("gap fill failed", extra={"channel": ch.name, "error": type(exc).__name__})
        finally:
            ch.filler = None

    async def _drop_impossible(self, ch: ChannelState) -> None:
        """Forget held-back seqs beyond the stored head: storage never had them.

        Events are published after commit, so a genuine seq is always in storage by the
        time it arrives. Anything above the head is foreign (anyone can publish on a Redis
        channel) or from a room that no longer exists; waiting for it would stall the
        channel and keep querying storage.
        """
        head = await self._heads(ch)
        if ch.seq.forget_beyond(head):
            log.warning("dropped an event beyond the stored head", extra={"channel": ch.name})
        if ch.seq.last is not None and head > ch.seq.last:
            await self._catch_up(ch, head)

    async def _catch_up(self, ch: ChannelState, upto: int) -> None:
        after = ch.seq.last
        assert after is not None
        filled = ch.seq.fill(await self.load(ch, after, upto))
        metrics.GAPS_FILLED.inc(len(filled))
        self._deliver(ch, filled)

    async def load(self, ch: ChannelState, after: int, upto: int) -> list[tuple[int, Outgoing]]:
        """Durable frames after < seq <= upto: Redis history if complete, else PostgreSQL."""
        try:
            items = await self.hub.broker.history(ch.name, after, upto)
        except Exception:  # noqa: BLE001 - retried by the next event or head check
            items = None
        if items is not None:
            try:
                decoded = [decode(item) for item in items]
                return [
                    (h.seq or 0, Outgoing(frame, str(h.seq), h.type, text_frame(frame)))
                    for h, frame in decoded
                ]
            except ValueError:
                log.warning("unreadable history entry; using storage", extra={"channel": ch.name})
        assert ch.kind.load is not None
        async with self._sessions() as session:
            rows = await ch.kind.load(session, ch.key, after, upto)
        return [
            (seq, Outgoing(frame, str(seq), "message", text_frame(frame))) for seq, frame in rows
        ]

    async def check_heads(self) -> None:
        """Compare every local ordered channel's position with storage; fill what was
        missed."""
        by_kind: dict[str, list[ChannelState]] = {}
        for ch in list(self.hub.channels.values()):
            if ch.kind.delivery is Delivery.ordered and ch.seq.started:
                by_kind.setdefault(ch.kind.name, []).append(ch)
        for states in by_kind.values():
            heads_of = states[0].kind.heads
            assert heads_of is not None
            async with self._sessions() as session:
                heads = await heads_of(session, [c.key for c in states])
            for ch in states:
                last = ch.seq.last
                if last is not None and heads.get(ch.key, 0) > last and ch.filler is None:
                    try:
                        await self._catch_up(ch, heads[ch.key])
                    except Exception as exc:  # noqa: BLE001 - one channel must not stop the rest
                        log.warning(
                            "catch-up failed",
                            extra={"channel": ch.name, "error": type(exc).__name__},
                        )

    async def sync_with_storage(self, ch: ChannelState) -> None:
        """Deliver whatever storage has beyond this worker's position on one channel."""
        head = await self._heads(ch)
        if ch.seq.last is not None and head > ch.seq.last:
            await self._catch_up(ch, head)

    async def on_broker_reconnected(self) -> None:
        metrics.REDIS_RECONNECTS.inc()
        try:
            await self.check_heads()
        except Exception as exc:  # noqa: BLE001 - the periodic head check retries
            log.warning("head check after reconnect failed", extra={"error": type(exc).__name__})
