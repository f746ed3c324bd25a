"""A client connection as the hub sees it: a user and a bounded outbox.

Transport-neutral: the WebSocket and the SSE endpoint each drain the outbox into their wire.
Each subscription offers into the outbox by its channel kind's overflow policy
(realtime/channels.py), so one connection can hold a chat room (too slow: close), a
leaderboard (too slow: keep only the latest snapshot) and an LLM stream (too slow: drop
and replay later from the stream) at once, with memory bounded either way.
"""

from __future__ import annotations

import asyncio
import struct
import uuid
from collections import deque
from collections.abc import Callable
from enum import IntEnum
from typing import NamedTuple, Protocol

from domain import metrics
from domain.events import UserRef


class CloseCode(IntEnum):
    """WebSocket close codes (PROTOCOL.md, "Errors and closing")."""

    normal = 1000
    policy = 1008
    too_large = 1009
    internal = 1011
    restarting = 1012
    unauthorized = 4001
    too_slow = 4008
    rate_limited = 4029


class Outgoing(NamedTuple):
    """A frame as every subscriber on this worker receives it: built once per event.

    `event_id` is the event's position as SSE's `id:` (seq or version); None for events
    without one, stream events included (subscriptions.outgoing says why). `type` is the frame's
    type when known without parsing it.
    """

    text: str
    event_id: str | None = None
    type: str | None = None
    # The WebSocket frame carrying `text`, when built once for every subscriber (fan-out);
    # empty: built when written (`ws_frame`).
    wire: bytes = b""
    published: float | None = None  # epoch seconds, live events only (delivery lag)


def text_frame(text: str) -> bytes:
    """`text` as one final, unmasked WebSocket text frame (RFC 6455 §5.2): what a server
    sends, identical for every client, so a fan-out builds it once."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


def ws_frame(frame: Outgoing) -> bytes:
    return frame.wire or text_frame(frame.text)


class FrameSink(Protocol):
    """Where a WebSocket connection's frames go when they can go straight to the socket
    (realtime/ws.py; the server's side is app/ws_protocol.py): prepared frame bytes, written
    in the order given. `writable` is False once the transport's buffer is above its
    high-water mark (or the socket is closing); `wait_writable` returns when it drained
    below the low-water mark, or the socket is gone. `write` raises ConnectionError once the
    socket is closing."""

    def writable(self) -> bool: ...

    def write(self, data: bytes) -> None: ...

    async def wait_writable(self) -> None: ...


class LatestSlot:
    """The one queued snapshot of a keep-latest subscription: a newer one replaces it in
    place, so a slow watcher holds at most one frame per such channel."""

    __slots__ = ("frame", "queued")

    def __init__(self) -> None:
        self.frame: Outgoing | None = None
        self.queued = False


class Connection:
    """One client connection on this worker.

    Guarantees: no `offer*` ever blocks (fan-out to thousands of connections must not wait
    on any one of them). `offer` (policy close): when `limit` items are already queued the
    connection is marked too slow and its transport closes it with 4008 — the client
    reconnects with `since` and loses nothing durable. `offer_latest` (keep_latest) never
    overflows: it replaces the subscription's queued snapshot. `offer_droppable` (replay)
    refuses when full and the caller replays later, once `on_drained` fires. `put` waits
    for room instead; only replay uses it, so a long replay is paced by the client rather
    than refused.

    With a `sink` (a WebSocket whose server exposes one) a frame offered while nothing is
    queued and the socket is writable is written at once, in the caller's turn: no task
    hop, no wake-up. Otherwise it is queued, and `pump` writes everything queued in one
    write when the socket can take it. Order holds because a frame is written directly only
    when nothing is queued, and `pump` writes what it takes before it yields. The outbox
    bound and the overflow policies apply to what is queued, which is what a backed-up
    socket accumulates; the transport's own buffer stays near its high-water mark.
    """

    __slots__ = (
        "_closed",
        "_queue",
        "_ready",
        "_room",
        "close_code",
        "id",
        "jti",
        "limit",
        "listen_only",
        "on_drained",
        "sink",
        "user",
    )

    def __init__(
        self, user: UserRef, limit: int, *, jti: str | None = None, listen_only: bool = False
    ) -> None:
        self.id = uuid.uuid4().hex[:16]
        self.user = user
        self.limit = limit
        # The token that authorizes the connection now (moves with an in-band refresh); its
        # revocation ends the connection (realtime/revocation.py). None: not tied to one.
        self.jti = jti
        # An SSE stream: one channel, listen only; losing that channel ends the stream.
        self.listen_only = listen_only
        self._queue: deque[Outgoing | LatestSlot] = deque()
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self.close_code: CloseCode | None = None
        self._closed = asyncio.Event()
        # Called once the queue has drained to half after a droppable offer was refused.
        self.on_drained: Callable[[], None] | None = None
        self.sink: FrameSink | None = None

    def _direct(self, frame: Outgoing) -> bool:
        """Write `frame` now if nothing is queued and the socket can take it."""
        sink = self.sink
        if sink is None or self._queue or not sink.writable():
            return False
        sink.write(ws_frame(frame))
        metrics.delivered(frame.type, frame.published)
        return True

    def offer(self, frame: Outgoing | str) -> None:
        if self.close_code is not None:
            return
        out = frame if isinstance(frame, Outgoing) else Outgoing(frame)
        if self._direct(out):
            return
        if len(self._queue) >= self.limit:
            metrics.OVERFLOW_CLOSE.inc()
            self.close(CloseCode.too_slow)
            return
        self._push(out)

    def offer_latest(self, slot: LatestSlot, frame: Outgoing) -> None:
        if self.close_code is not None:
            return
        if not slot.queued and self._direct(frame):
            return
        if slot.frame is not None:
            metrics.OVERFLOW_REPLACE.inc()
        slot.frame = frame
        if not slot.queued:
            slot.queued = True
            self._push(slot)

    def offer_droppable(self, frame: Outgoing) -> bool:
        """Queue unless full; False (nothing queued) when full."""
        if self.close_code is not None:
            return True
        if self._direct(frame):
            return True
        if len(self._queue) >= self.limit:
            metrics.OVERFLOW_DROP.inc()
            self._room.clear()
            return False
        self._push(frame)
        return True

    async def put(self, frame: Outgoing | str) -> None:
        while self.close_code is None and len(self._queue) >= self.limit:
            self._room.clear()
            await self._room.wait()
        if self.close_code is None:
            out = frame if isinstance(frame, Outgoing) else Outgoing(frame)
            if not self._direct(out):
                self._push(out)

    def _push(self, item: Outgoing | LatestSlot) -> None:
        self._queue.append(item)
        self._ready.set()

    async def next(self) -> Outgoing | None:
        """The next outbound frame; None once the connection is closed."""
        while True:
            if self.close_code is CloseCode.too_slow:
                return None  # what is queued is what it could not keep up with
            if not self._queue:
                if self.close_code is not None:
                    return None  # closed, and what was queued before (an error) is sent
                self._ready.clear()
                await self._ready.wait()
                continue
            item = self._queue.popleft()
            if len(self._queue) <= self.limit // 2 and not self._room.is_set():
                self._room.set()
                if self.on_drained is not None:
                    self.on_drained()
            if isinstance(item, LatestSlot):
                item.queued = False
                frame, item.frame = item.frame, None
                if frame is None:
                    continue
                return frame
            return item

    async def pump(self, sink: FrameSink) -> None:
        """Write what is queued to `sink` until the connection closes: everything queued in
        one write, then wait while the socket is backed up. Ends like `next` (None there):
        at once for 4008, after what was queued for any other close. Raises what
        `sink.write` raises once the socket is gone."""
        while True:
            if self.close_code is CloseCode.too_slow:
                return
            queue = self._queue
            if not queue:
                if self.close_code is not None:
                    return
                self._ready.clear()
                await self._ready.wait()
                continue
            if not sink.writable():
                # Backed up: wait until it drained before taking anything, so the queue
                # keeps its bound. Still not writable after that: the socket is closing,
                # and the write below raises (ending this loop) rather than spinning.
                await sink.wait_writable()
                if sink.writable():
                    continue  # from the top: it may have been closed meanwhile
            frames = []
            while queue:
                item = queue.popleft()
                if isinstance(item, LatestSlot):
                    item.queued = False
                    frame, item.frame = item.frame, None
                    if frame is None:
                        continue
                    item = frame
                frames.append(item.wire or text_frame(item.text))
                metrics.delivered(item.type, item.published)
            if frames:
                sink.write(b"".join(frames) if len(frames) > 1 else frames[0])
            # After the write: what on_drained sets going must come after what was queued.
            if not self._room.is_set():
                self._room.set()
                if self.on_drained is not None:
                    self.on_drained()

    def pending(self) -> int:
        return len(self._queue)

    def close(self, code: CloseCode) -> None:
        """Close after what is queued (e.g. the `error` that explains it) has been sent,
        except for 4008, where the queue is what the client could not keep up with."""
        if self.close_code is None:
            self.close_code = code
            self._ready.set()
            self._room.set()
            self._closed.set()

    async def wait_closed(self) -> CloseCode:
        await self._closed.wait()
        assert self.close_code is not None
        return self.close_code
