"""Stopping without posting twice: work a reader has started finishes before a stop.

Telegram has no idempotency key, so the bridge records what it posted right after
Telegram accepts it (state.py). Cancelling a handler between the two would leave a post
unrecorded, and the restarted bridge would post it again. A graceful stop (SIGTERM, a
restart, a session closed for room) therefore lets the work in hand finish, posted *and*
recorded, for up to `stop_drain_seconds`; only a crash, or Telegram hanging past that
bound, leaves the at-least-once window.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("parley.telegram")


class InHand:
    """The handler tasks one reader started, finished (bounded) before it stops."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def __bool__(self) -> bool:
        return bool(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `coro` in its own task, kept until it ends."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def run(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` to its end. Cancelling the caller does not cancel it: it goes on
        until `finish` (the caller's reader stops between events, never inside one)."""
        await asyncio.shield(self.spawn(coro))

    async def finish(self, within: float) -> None:
        """Wait up to `within` seconds for the tasks in hand, then cancel what is left
        (logged: those may be posted again after a restart)."""
        if not self._tasks:
            return
        log.info("stopping: waiting for posts in flight", extra={"in_flight": len(self._tasks)})
        _, late = await asyncio.wait(set(self._tasks), timeout=within)
        if late:
            log.warning("stopping before telegram answered", extra={"unfinished": len(late)})
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
