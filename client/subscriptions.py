"""One channel's subscription: its position, its event buffer, and its iterator.

The connection's reader puts events in; the application takes them out with
`async for event in sub`. The buffer is bounded: when the application falls behind, the
reader waits, the server's outbound queue fills, the server closes the socket with 4008,
and the client resumes from the held position, so a slow consumer never loses a durable
event and never grows memory without bound (ephemeral events may be missed then).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from client.backoff import Backoff
from client.events import ParleyEvent, Reset
from client.positions import ChannelPosition


@dataclass(frozen=True)
class Subscribed:
    """The server's answer to the latest `subscribe` of a channel."""

    channel: str
    head: int
    recovered: bool


class Subscription:
    """Events of one channel, each durable one exactly once and in `seq` order, across
    reconnects. Meant for one consumer. Iteration ends after `unsubscribe()` or when the
    client closes; it raises the error that ended the subscription (`ProtocolError` when a
    resubscribe is refused, e.g. `forbidden` after removal from the room; the client's
    fatal error)."""

    def __init__(
        self,
        channel: str,
        since: int | None,
        maxsize: int,
        unsubscribe: Callable[[str], Awaitable[None]],
    ) -> None:
        self.channel = channel
        self.position = ChannelPosition(seq=since)
        self.last: Subscribed | None = None
        self.ref = ""  # the ref of the latest subscribe frame (errors echo it)
        self.sent_on = -1  # the connection generation the latest subscribe went out on
        self.resyncing = False  # a resubscribe to fill a gap is on its way
        self.retry = Backoff(base=0.5, cap=10.0)  # for subscribes refused as retryable
        self.ready: asyncio.Future[Subscribed] = asyncio.get_running_loop().create_future()
        self._unsubscribe = unsubscribe
        self._items: deque[ParleyEvent] = deque()
        self._maxsize = maxsize
        self._has_items = asyncio.Event()
        self._has_space = asyncio.Event()
        self._has_space.set()
        self._finished = False
        self._error: BaseException | None = None

    @property
    def finished(self) -> bool:
        return self._finished

    def subscribe_frame(self) -> dict[str, object]:
        return {"type": "subscribe", "channel": self.channel, **self.position.resume_fields()}

    def on_subscribed(self, head: int, recovered: bool) -> Reset | None:
        """Apply `subscribed`; the `Reset` to deliver when the held position was lost."""
        self.resyncing = False
        self.retry.reset()
        lost = self.position.subscribed(head, recovered)
        self.last = Subscribed(self.channel, head, recovered)
        if not self.ready.done():
            self.ready.set_result(self.last)
        if lost is None:
            return None
        return Reset(channel=self.channel, since=lost, head=head)

    async def put(self, event: ParleyEvent) -> None:
        """Buffer an event for the application; waits while the buffer is full."""
        while len(self._items) >= self._maxsize and not self._finished:
            self._has_space.clear()
            await self._has_space.wait()
        if self._finished:
            return
        self._items.append(event)
        self._has_items.set()

    def finish(self, error: BaseException | None = None) -> None:
        """End the subscription; buffered events are still yielded, then `error` (if any)."""
        if self._finished:
            return
        self._finished, self._error = True, error
        if not self.ready.done():
            if error is None:
                self.ready.cancel()
            else:
                self.ready.set_exception(error)
                self.ready.exception()  # mark retrieved: nobody may await it any more
        self._has_items.set()
        self._has_space.set()

    async def unsubscribe(self) -> None:
        """Stop receiving this channel (tells the server when connected)."""
        await self._unsubscribe(self.channel)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> ParleyEvent:
        while not self._items:
            if self._finished:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            self._has_items.clear()
            await self._has_items.wait()
        item = self._items.popleft()
        self._has_space.set()
        return item

    async def next(self, within: float | None = None) -> ParleyEvent:
        """The next event, waiting at most `within` seconds (TimeoutError)."""
        async with asyncio.timeout(within):
            return await self.__anext__()
