"""One timer per worker for every WebSocket's receive deadline.

An idle socket waits in `receive()` for hours, always with a deadline: the next heartbeat
ping, the pong it waits for, the token's expiry. `asyncio.timeout` around each wait holds a
`Timeout` and a loop timer per socket for as long as it waits (~0.85 KB under uvloop,
docs/benchmarks.md, "Idle memory, fourth pass"): at 10,000 sockets, 8 MB for timers that
almost never fire. `Deadlines` files the waiting tasks in buckets of `RESOLUTION` seconds
with one loop timer for the earliest bucket, and wakes a task whose deadline passed the
way `asyncio.timeout` does, by cancelling its wait.

Guarantees:

- a wait ends at most `RESOLUTION` (plus loop lag) after its deadline, and never more than
  a millisecond before it (uvloop's timers have a millisecond's resolution; a tick that
  comes early is harmless to `SessionCore.tick`, which only acts on what is due);
- a cancellation that is not ours (the endpoint cancelling its reader) is never taken
  for an expiry, and one that comes on top of ours still cancels;
- nothing that arrived is lost: the wait is cancelled while it is suspended, before the
  message is taken off the protocol's queue (as with `asyncio.timeout`).

Use: `enter` before the await and `leave` after it, in the waiting coroutine's own frame
(a wrapper coroutine per wait would cost a frame per idle socket, the memory this module
exists to save); on CancelledError, `expired()` tells a deadline from a real cancel.
`realtime/ws_session.receive_until` is the one user.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import time

RESOLUTION = 0.1  # seconds: how late a deadline may be noticed, and the bucket width
# uvloop rounds timers to milliseconds: a bucket's timer may fire up to this early.
_SLACK = 0.002


class Deadlines:
    """The receive deadlines of one event loop's sockets (one per worker, on the `Hub`)."""

    __slots__ = ("_buckets", "_expired", "_heap", "_loop", "_timer", "_timer_bucket")

    def __init__(self) -> None:
        # Bucket number (loop time / RESOLUTION, rounded up) -> the tasks waiting on it. An
        # emptied bucket stays until it is due, so a busy socket re-entering the same bucket
        # does not push it on the heap again: the heap holds at most one entry per bucket.
        self._buckets: dict[int, set[asyncio.Task[object]]] = {}
        self._heap: list[int] = []
        self._expired: set[asyncio.Task[object]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_bucket = 0

    def enter(self, deadline: float) -> int:
        """The current task waits until `deadline` (the `time.monotonic()` clock); returns
        the bucket to give back to `leave`."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("Deadlines.enter outside a task")
        loop = self._loop = task.get_loop()
        bucket = math.ceil((loop.time() + (deadline - time.monotonic())) / RESOLUTION)
        waiting = self._buckets.get(bucket)
        if waiting is None:
            waiting = self._buckets[bucket] = set()
            heapq.heappush(self._heap, bucket)
            if self._timer is None or bucket < self._timer_bucket:
                self._arm()
        waiting.add(task)
        return bucket

    def expired(self) -> bool:
        """In the wait's `except CancelledError`: True when the cancellation was this
        module's (the deadline passed) and nothing else cancelled the task as well."""
        task = asyncio.current_task()
        if task is None or task not in self._expired:
            return False
        self._expired.discard(task)
        return task.uncancel() == 0

    def leave(self, bucket: int) -> None:
        """In the wait's `finally`: the current task no longer waits in `bucket`."""
        task = asyncio.current_task()
        waiting = self._buckets.get(bucket)
        if waiting is not None:
            waiting.discard(task)
        if task in self._expired:
            # Expired, but the wait ended some other way (the wait swallowed the
            # cancellation): take our cancellation back, as asyncio.timeout's exit would.
            self._expired.discard(task)
            if task is not None:
                task.uncancel()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._heap or self._loop is None:
            return
        self._timer_bucket = self._heap[0]
        self._timer = self._loop.call_at(self._timer_bucket * RESOLUTION, self._fire)

    def _fire(self) -> None:
        self._timer = None
        assert self._loop is not None
        now = self._loop.time() + _SLACK
        while self._heap and self._heap[0] * RESOLUTION <= now:
            for task in self._buckets.pop(heapq.heappop(self._heap), ()):
                if not task.done():
                    self._expired.add(task)
                    task.cancel()
        self._arm()
