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
from typing import Any, NamedTuple, Protocol

from domain import metrics
from domain.events import UserRef

# Never appended to: `_push` replaces it with a deque of the connection's own first.
_EMPTY: deque[Any] = deque(maxlen=0)


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
    queued and the socket is writable is handed to the socket at once, in the caller's
    turn: no task hop, no wake-up (the server's writer sends what a socket got in one turn
    as one write at the turn's end, app/ws_protocol.py `Cork`). Otherwise it is queued,
    and `pump` writes everything queued in one write when the socket can take it. Order
    holds because a frame is written directly only when nothing is queued, and `pump`
    writes what it takes before it yields. The outbox bound and the overflow policies
    apply to what is queued, which is what a backed-up socket accumulates; the
    transport's own buffer stays near its high-water mark.
    """

    __slots__ = (
        "_close_waiters",
        "_full",
        "_queue",
        "_room_waiter",
        "_wake",
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
        # The shared empty outbox until something queues: a deque allocates a ~760-byte
        # block even when empty, and most connections are idle with nothing queued.
        self._queue: deque[Outgoing | LatestSlot] = _EMPTY
        # Waiters are futures made only while someone waits (an idle connection holds
        # none; an asyncio.Event costs a deque each, ~0.6 KB, for its whole life):
        # `_wake` is the writer waiting for a frame or the close, `_room_waiter` a `put`
        # waiting for room. `_full`: an offer was refused or a `put` waits, so `on_drained`
        # fires (and the waiter wakes) once the queue drained to half.
        self._wake: asyncio.Future[None] | None = None
        self._room_waiter: asyncio.Future[None] | None = None
        self._full = False
        self._close_waiters: list[asyncio.Future[None]] | None = None
        self.close_code: CloseCode | None = None
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
            self._full = True
            return False
        self._push(frame)
        return True

    async def put(self, frame: Outgoing | str) -> None:
        while self.close_code is None and len(self._queue) >= self.limit:
            self._full = True
            waiter = self._room_waiter
            if waiter is None or waiter.done():
                waiter = self._room_waiter = asyncio.get_running_loop().create_future()
            await asyncio.shield(waiter)  # one waiter's cancellation must not wake others
        if self.close_code is None:
            out = frame if isinstance(frame, Outgoing) else Outgoing(frame)
            if not self._direct(out):
                self._push(out)

    def _push(self, item: Outgoing | LatestSlot) -> None:
        if self._queue is _EMPTY:
            self._queue = deque()
        self._queue.append(item)
        self._wake_writer()

    def _wake_writer(self) -> None:
        wake = self._wake
        if wake is not None:
            self._wake = None
            if not wake.done():
                wake.set_result(None)

    async def _wait_queued(self) -> None:
        """Until something is queued or the connection closes (one writer at a time)."""
        wake = self._wake = asyncio.get_running_loop().create_future()
        try:
            await wake
        finally:
            if self._wake is wake:
                self._wake = None

    def _drained(self) -> None:
        """The queue drained to half (or emptied) after it was full: wake and tell."""
        self._full = False
        waiter, self._room_waiter = self._room_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self.on_drained is not None:
            self.on_drained()

    async def next(self) -> Outgoing | None:
        """The next outbound frame; None once the connection is closed."""
        while True:
            if self.close_code is CloseCode.too_slow:
                return None  # what is queued is what it could not keep up with
            if not self._queue:
                if self.close_code is not None:
                    return None  # closed, and what was queued before (an error) is sent
                await self._wait_queued()
                continue
            item = self._queue.popleft()
            if not self._queue:
                self._queue = _EMPTY
            if self._full and len(self._queue) <= self.limit // 2:
                self._drained()
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
                await self._wait_queued()
                continue
            if not sink.writable():
                # Backed up: wait until it drained before taking anything, so the queue
                # keeps its bound. Still not writable after that: the socket is closing,
                # and the write below raises (ending this loop) rather than spinning.
                await sink.wait_writable()
                if sink.writable():
                    continue  # from the top: it may have been closed meanwhile
                queue = self._queue  # `gone` may have emptied it meanwhile
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
            self._queue = _EMPTY  # everything taken
            if frames:
                sink.write(b"".join(frames) if len(frames) > 1 else frames[0])
            # After the write: what on_drained sets going must come after what was queued.
            if self._full:
                self._drained()

    def pending(self) -> int:
        return len(self._queue)

    def gone(self) -> None:
        """The client went away: closed, and nothing queued is written any more. A no-op
        on a connection already closed (what explains that close is still sent)."""
        if self.close_code is None:
            self._queue = _EMPTY
            self.close(CloseCode.normal)

    def close(self, code: CloseCode) -> None:
        """Close after what is queued (e.g. the `error` that explains it) has been sent,
        except for 4008, where the queue is what the client could not keep up with."""
        if self.close_code is None:
            self.close_code = code
            self._full = False  # nothing is replayed into a closed connection
            waiter, self._room_waiter = self._room_waiter, None
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            self._wake_writer()
            for closed in self._close_waiters or ():
                if not closed.done():
                    closed.set_result(None)
            self._close_waiters = None

    async def wait_closed(self) -> CloseCode:
        """Until the connection is closed; its close code."""
        if self.close_code is None:
            closed = asyncio.get_running_loop().create_future()
            if self._close_waiters is None:
                self._close_waiters = []
            self._close_waiters.append(closed)
            await closed
        assert self.close_code is not None
        return self.close_code
