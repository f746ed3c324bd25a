"""A client connection as the hub sees it: a user and a bounded outbound queue.

Transport-neutral: the WebSocket and the SSE endpoint each drain `queue` into their wire.
"""

from __future__ import annotations

import asyncio
import uuid
from enum import IntEnum

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


class Connection:
    """One client connection on this worker.

    Guarantees: `offer` never blocks (fan-out to thousands of connections must not wait on
    any one of them); when `limit` frames are already queued the connection is marked too
    slow and its transport closes it with 4008 — the client reconnects with `since` and
    loses nothing durable. `put` waits for room instead; only replay uses it, so a long
    replay is paced by the client rather than refused.
    """

    __slots__ = ("_closed", "_queue", "_room", "close_code", "id", "limit", "user")

    def __init__(self, user: UserRef, limit: int) -> None:
        self.id = uuid.uuid4().hex[:16]
        self.user = user
        self.limit = limit
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._room = asyncio.Event()
        self._room.set()
        self.close_code: CloseCode | None = None
        self._closed = asyncio.Event()

    def offer(self, frame: str) -> None:
        if self.close_code is not None:
            return
        if self._queue.qsize() >= self.limit:
            self.close(CloseCode.too_slow)
            return
        self._queue.put_nowait(frame)

    async def put(self, frame: str) -> None:
        while self.close_code is None and self._queue.qsize() >= self.limit:
            self._room.clear()
            await self._room.wait()
        if self.close_code is None:
            self._queue.put_nowait(frame)

    async def next(self) -> str | None:
        """The next outbound frame; None once the connection is closed."""
        if self.close_code is not None and self.close_code is not CloseCode.normal:
            return None
        frame = await self._queue.get()
        if self._queue.qsize() <= self.limit // 2:
            self._room.set()
        return frame

    def pending(self) -> int:
        return self._queue.qsize()

    def close(self, code: CloseCode) -> None:
        if self.close_code is None:
            self.close_code = code
            self._queue.put_nowait(None)
            self._room.set()
            self._closed.set()

    async def wait_closed(self) -> CloseCode:
        await self._closed.wait()
        assert self.close_code is not None
        return self.close_code
