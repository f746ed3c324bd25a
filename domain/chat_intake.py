"""The message intake: sends to one room that arrive together on a worker share a statement.

`MessageIntake.submit(room_id, send)` queues a send and waits for its own outcome. Per
room, at most one flush stores at a time on a worker; sends that arrive meanwhile are
stored by the next flush, all at once (up to `max_batch`, domain/chat_store.py). So an
idle room stores a lone send at once (no added delay), and a busy room stores more sends
per statement the busier it is: one commit, one WAL flush and one hold of the room's row
lock for many messages (decision 0018).

After its statement a flush lets the room's next flush start, publishes its events in seq
order in one Redis round trip (pipelined), and then answers its callers: an ack still
means committed, and still follows the publish.

Guarantees:
- Each caller gets exactly what a lone send would get (chat_store): its message, the
  stored one for a retry, or its own domain error; a duplicate or a non-member does not
  spoil the others' batch.
- Two sends with the same (author, client_id) never share a flush: the second waits for
  the next one, where it is answered as a retry.
- A database failure of a batch: an outage is raised to every caller of the batch
  (nothing of it was stored); any other failure (a value the database refused) has the
  batch stored send by send, so that only the culprit gets the error.
- On this worker a room's events are published in seq order: a flush queues on the room's
  publish lock (FIFO) before the next flush can even start its statement.
- A caller that goes away (cancelled) cancels only its own wait, not the flush: its
  message may still be stored, as a message whose ack was lost would be.
- Bounded: every queued send has a caller waiting for it (a WebSocket send, a REST
  request), so the queue is bounded by the callers admitted, not by this module.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker import Broker
from domain import metrics
from domain.chat_store import Outcome, Posted, Send, room_channel, store_batch
from domain.errors import Unavailable
from domain.events import encode
from domain.failures import classify
from domain.tasks import spawn

log = logging.getLogger("parley.chat")

Store = Callable[[async_sessionmaker[AsyncSession], int, Sequence[Send]], Awaitable[list[Outcome]]]
# A send's result: its Posted, or the exception its caller raises.
Result = Posted | Exception
Waiter = tuple[Send, "asyncio.Future[Posted]"]

MAX_BATCH = 100


class _Room:
    __slots__ = ("flushing", "publishing", "queue")

    def __init__(self) -> None:
        self.queue: deque[Waiter] = deque()
        self.flushing = False
        self.publishing = asyncio.Lock()

    @property
    def idle(self) -> bool:
        return not self.queue and not self.flushing and not self.publishing.locked()


class MessageIntake:
    """One per worker: groups each room's concurrent sends into one statement."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        broker: Broker,
        *,
        max_batch: int = MAX_BATCH,
        store: Store = store_batch,
    ) -> None:
        self.sessions = sessions
        self.broker = broker
        self._max_batch = max_batch
        self._store = store
        self._rooms: dict[int, _Room] = {}

    async def submit(self, room_id: int, send: Send) -> Posted:
        """Store `send` (with whatever else is waiting for the room), publish it, return it.

        Raises the send's own DomainError, or the database's exception (nothing stored)."""
        future: asyncio.Future[Posted] = asyncio.get_running_loop().create_future()
        room = self._rooms.get(room_id)
        if room is None:
            room = self._rooms[room_id] = _Room()
        room.queue.append((send, future))
        self._kick(room_id, room)
        return await future  # cancelling it leaves the flush (its own task) running

    def _kick(self, room_id: int, room: _Room) -> None:
        if room.flushing or not room.queue:
            return
        room.flushing = True
        spawn(self._flush(room_id, room, self._take(room)), name="message-flush")

    def _take(self, room: _Room) -> list[Waiter]:
        batch: list[Waiter] = []
        keys: set[tuple[int, str]] = set()
        held: list[Waiter] = []
        while room.queue and len(batch) < self._max_batch:
            item = room.queue.popleft()
            send = item[0]
            if send.client_id is None:
                batch.append(item)
            elif (key := (send.author.id, send.client_id)) in keys:
                held.append(item)  # the same send twice: the next flush answers it as a retry
            else:
                keys.add(key)
                batch.append(item)
        room.queue.extendleft(reversed(held))
        return batch

    async def _flush(self, room_id: int, room: _Room, batch: list[Waiter]) -> None:
        results: list[Result] = []
        try:
            try:
                results = await self._store_all(room_id, [send for send, _ in batch])
            except Exception as exc:  # noqa: BLE001 - raised to each caller (post_message)
                results = [exc] * len(batch)
            finally:
                # The next flush may start its statement now; it queues on the publish
                # lock only after this one did (it must await its statement first).
                room.flushing = False
                self._kick(room_id, room)
            async with room.publishing:
                await self._publish(room_id, results)
        finally:
            for (_, future), result in zip(batch, results, strict=False):
                if future.done():
                    continue
                if isinstance(result, Posted):
                    future.set_result(result)
                else:
                    future.set_exception(result)
            for _, future in batch[len(results) :]:  # cancelled before any result
                if not future.done():
                    future.cancel()
            if room.idle and self._rooms.get(room_id) is room:
                del self._rooms[room_id]

    async def _store_all(self, room_id: int, sends: list[Send]) -> list[Result]:
        try:
            return list(await self._store(self.sessions, room_id, sends))
        except Exception as exc:
            if len(sends) == 1 or isinstance(classify(exc), Unavailable):
                raise
        # A value the database refused (or a bug) failed the whole statement: store each
        # send alone, so only the culprit gets its error.
        results: list[Result] = []
        for send in sends:
            try:
                results.extend(await self._store(self.sessions, room_id, [send]))
            except Exception as exc:  # noqa: BLE001 - handed to this send's caller
                results.append(exc)
        return results

    async def _publish(self, room_id: int, results: list[Result]) -> None:
        """The batch's events in seq order, one round trip. Failure is logged, not raised:
        the messages are durable and subscribers recover them (decision 0002)."""
        events = sorted(
            (r.event for r in results if isinstance(r, Posted)), key=lambda event: event.seq
        )
        if not events:
            return
        channel = room_channel(room_id)
        node = self.broker.node
        try:
            await self.broker.publish_durable(
                channel, [(event.seq, encode(event, node)) for event in events]
            )
        except Exception as exc:  # noqa: BLE001 - any broker failure is recovered by gap-fill
            log.warning(
                "publish failed; subscribers will recover from storage",
                extra={"channel": channel, "seq": events[0].seq, "error": type(exc).__name__},
            )
            return
        for _ in events:
            metrics.published(channel)
