"""Background tasks that cannot fail silently.

`asyncio.create_task` alone has two traps: the loop keeps only a weak reference (a task
nobody holds can be garbage-collected mid-flight), and an exception nobody retrieves
surfaces only as "Task exception was never retrieved" when the task is collected, long
after, with no context. `spawn` holds the task until it ends and `supervise` retrieves its
outcome in a done-callback: a failure is logged once, with structure (the task's role and
the exception type; never message text), and with its traceback because it is a bug.

Awaiting a supervised task is still fine: the callback only reads the outcome.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger("parley.tasks")

T = TypeVar("T")

# Strong references to running tasks (see the module docstring).
_running: set[asyncio.Task[Any]] = set()


def spawn(
    coro: Coroutine[Any, Any, T],
    *,
    name: str,
    expected: tuple[type[BaseException], ...] = (),
) -> asyncio.Task[T]:
    """Start `coro` as a supervised task named `name` (its role, e.g. "hub-presence")."""
    task = asyncio.create_task(coro, name=name)
    _running.add(task)
    task.add_done_callback(_running.discard)
    return supervise(task, expected=expected)


def supervise(
    task: asyncio.Task[T], *, expected: tuple[type[BaseException], ...] = ()
) -> asyncio.Task[T]:
    """Log the task's exception, if any, when it ends; `expected` ones are not logged."""

    def report(done: asyncio.Task[T]) -> None:
        if done.cancelled():
            return
        exc = done.exception()  # retrieving it is what silences "never retrieved"
        if exc is None or isinstance(exc, expected):
            return
        log.error(
            "background task failed",
            exc_info=exc,
            extra={"task": _role(done), "error": type(exc).__name__},
        )

    task.add_done_callback(report)
    return task


def _role(task: asyncio.Task[Any]) -> str:
    """The task's name without a per-instance suffix: `ws-recv-3f2a` -> `ws-recv`."""
    name = task.get_name()
    head, _, tail = name.rpartition("-")
    return head if head and all(c in "0123456789abcdef" for c in tail) else name


async def every(seconds: float, job: Callable[[], Awaitable[None]]) -> None:
    """Run `job` every `seconds` for ever. A failed run is logged and the loop goes on:
    a periodic job (presence refresh, head check) must outlive an outage of what it uses."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception as exc:  # noqa: BLE001 - logged; the next run retries
            log.warning(
                "periodic job failed",
                extra={"job": getattr(job, "__name__", "?"), "error": type(exc).__name__},
            )
