"""uvicorn's WebSocket protocol with one addition: a way to write prepared frames.

`parley serve`, the test servers and `make bench` run uvicorn with
`ws="app.ws_protocol:ParleyWebSocketProtocol"`. It is uvicorn's own websockets Sans-I/O
implementation (handshake, reads, pings, close handshake, flow control all unchanged) that
puts a `parley.frames` ASGI extension in each WebSocket scope: a `FrameWriter` the
endpoint hands to its connection (realtime/connection.py `FrameSink`), so a frame built
once per fan-out is written as bytes to every socket — no per-frame ASGI send, encode and
framing. Why this seam: docs/decisions/0017-frame-once-write-many.md.

A server without the extension (another `--ws`, Starlette's TestClient) gets the plain
ASGI path; nothing depends on the extension being there.

Memory per idle connection (issue 13; docs/benchmarks.md, "Idle memory"): uvicorn's
inbound `asyncio.Queue` and its `writable` `asyncio.Event` hold four deques (~0.75 KB
each, allocated even when empty) for the socket's whole life; `Inbox` and `Flag` do the
same jobs with a deque only while messages wait and futures only while someone waits.
The handshake's request and response (headers) are dropped once the handshake is done.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame
from websockets.http11 import Request

EXTENSION = "parley.frames"

log = logging.getLogger("parley.ws")


# A socket's writes held for the end of the turn beyond which they are written at once, so
# the transport's flow control (its high-water mark) still sees a long burst early.
CORK_LIMIT = 64


class Cork:
    """Frames written to sockets during one turn of the event loop, held per socket and
    written at the turn's end: one `transport.write` per socket per turn however many
    frames it got (a board and its rank, a burst of messages read from Redis in one go).

    One per event loop (`for_loop`). Guarantees: a socket's frames keep their order; they
    leave before the protocol's own next data or close frame (`FrameWriter.flush` is
    called first there); a frame still held when the close frame went out, or the socket
    went, is dropped, as one written to a closing socket would have been."""

    __slots__ = ("_held", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._held: list[FrameWriter] = []

    def hold(self, writer: FrameWriter) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(writer)

    def flush(self) -> None:
        held, self._held = self._held, []
        for writer in held:
            try:
                writer.flush()
            except Exception:  # one socket's failure must not keep the others' frames
                log.exception("a held WebSocket write failed")


_CORKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Cork] = weakref.WeakKeyDictionary()


def for_loop(loop: asyncio.AbstractEventLoop) -> Cork:
    cork = _CORKS.get(loop)
    if cork is None:
        cork = _CORKS[loop] = Cork(loop)
    return cork


class FrameWriter:
    """Writes complete, final, unmasked data frames to the transport, between whatever
    frames the protocol writes itself (pings, pongs, close): every write is whole frames,
    so frames never interleave. Frames written in one turn of the event loop go out
    together at its end (`Cork`). Refuses once the close frame is sent or the socket is
    gone: nothing may follow a close frame."""

    __slots__ = ("_cork", "_held", "_p")

    def __init__(self, protocol: WebSocketsSansIOProtocol, cork: Cork) -> None:
        self._p = protocol
        self._cork = cork
        self._held: bytes | list[bytes] | None = None

    def _closing(self) -> bool:
        p = self._p
        return p.close_sent or p.disconnected or p.transport.is_closing()

    def writable(self) -> bool:
        return self._p.writable.is_set() and not self._closing()

    def write(self, data: bytes) -> None:
        if self._closing():
            raise ConnectionResetError("the WebSocket is closing")
        held = self._held
        if held is None:  # most sockets get one frame a turn: no list for it
            self._held = data
            self._cork.hold(self)
        elif isinstance(held, bytes):
            self._held = [held, data]
        else:
            held.append(data)
            if len(held) >= CORK_LIMIT:
                self.flush()

    def flush(self) -> None:
        """Write what is held now (the cork calls it at the turn's end; the protocol before
        it writes a frame of its own)."""
        held, self._held = self._held, None
        if held is None or self._closing():
            return  # nothing may follow a close frame
        self._p.transport.write(held if isinstance(held, bytes) else b"".join(held))

    async def wait_writable(self) -> None:
        # Set by resume_writing (below the low-water mark) and by connection_lost.
        await self._p.writable.wait()


class Inbox:
    """What uvicorn's protocol uses of `asyncio.Queue` (`put_nowait`, `get`, `empty`),
    unbounded like it, FIFO, for ONE reader at a time (the ASGI app's `receive`; a second
    concurrent `get` raises RuntimeError rather than racing the first)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            if self._waiter is not None:
                raise RuntimeError("Inbox.get: another reader is waiting")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if not self._items:
            self._items = None  # an idle socket keeps no deque block
        return item

    def empty(self) -> bool:
        return not self._items


class Flag:
    """What uvicorn's protocol and `FrameWriter` use of `asyncio.Event` (`is_set`, `set`,
    `clear`, `wait`), with waiters' futures made only while someone waits."""

    __slots__ = ("_set", "_waiters")

    def __init__(self, value: bool) -> None:
        self._set = value
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> None:
        if self._set:
            return
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)


class ParleyWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Same duck type as what uvicorn made; see the module docstring for why.
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Flag(True)  # type: ignore[assignment]
        # The endpoint's writer once the handshake is done; its held frames are flushed
        # before any frame the protocol writes itself, so they keep their place.
        self.frame_writer: FrameWriter | None = None
        # uvicorn sets more attributes than CPython's shared-key instance dicts hold (30),
        # so the dict was rebuilt as it grew, with room for 85 keys (1.6 KB). A copy is
        # sized for what is there, with room for the three the handshake adds (0.8 KB).
        self.__dict__ = dict(self.__dict__)

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # uvicorn keeps the request only to build the scope (done): its headers would
        # stay for the socket's life. websockets' parser generator keeps it too (a local
        # of `ServerProtocol.parse`, suspended for the socket's life), so empty the
        # headers in place: the scope has its own copy of them.
        del self.request
        event.headers.clear()
        scope = getattr(self, "scope", None)
        if scope is not None and self.response.status_code == 101:
            self.frame_writer = FrameWriter(self, for_loop(self.loop))
            scope["extensions"][EXTENSION] = {"writer": self.frame_writer}

    def _flush_frames(self) -> None:
        if self.frame_writer is not None:
            self.frame_writer.flush()

    def handle_close(self, event: Frame) -> None:
        self._flush_frames()  # the peer closed: what was written before still goes first
        super().handle_close(event)

    def shutdown(self) -> None:
        self._flush_frames()
        super().shutdown()

    async def send(self, message: Any) -> None:
        self._flush_frames()  # an ASGI send (a frame, the close) comes after the held ones
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # Sent: the response (and its headers) is not needed again.
            self.response = None  # type: ignore[assignment]
