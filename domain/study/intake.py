"""The answer intake: answers arriving together on a worker share one statement.

`AnswerIntake.submit` queues one answer and waits for its own outcome. A flush takes up to
`max_batch` queued answers and hands them to `store` (one autocommit statement, see
domain/study/answers.py); at most `max_flushes` run at once per worker, and answers that
arrive while they run wait for the next one. So an idle worker stores a lone answer at
once (no added delay), and a busy one stores more answers per transaction the busier it
is (the batch grows with the time a flush takes): a few ms of grouping under load.

Guarantees:
- Each caller gets its own outcome: its `Answered`, or the exact domain error a lone
  answer would get; a database failure of a flush is raised to every caller of that flush
  (nothing of it was stored), never swallowed.
- Two answers with the same key (session, member, question) never share a flush: the
  second waits for the next one, where the primary key refuses it (Conflict).
- A caller that goes away (cancelled) cancels only its own wait, not the flush: its answer
  may still be stored (as an answer whose reply was lost would be), and the others still
  get their outcomes.
- What a store hands back to run after the outcomes (`Flushed.then`: announcing the moved
  boards) runs before the next flush starts, so it adds nothing to the callers' wait and
  the work in flight per worker stays bounded.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from domain.study.answers import AnswerIn, Outcome
from domain.tasks import spawn

log = logging.getLogger("parley.study")


@dataclass(frozen=True, slots=True)
class Flushed:
    """What a store did with a batch: one outcome per answer, in order, and what to run
    once the callers have them (it must log its own failures: they are not the callers')."""

    outcomes: list[Outcome]
    then: Callable[[], Awaitable[None]] | None = None


Store = Callable[[Sequence[AnswerIn]], Awaitable[Flushed]]


class AnswerIntake:
    # One flush at a time per worker by default: every flush of a group's answers updates
    # the same `board_versions` rows, so a second concurrent flush mostly waits on their
    # locks; one flush with the bigger batch measured less CPU and lower ack latency
    # (docs/benchmarks.md, "Leaderboards: one answer flush per worker").
    def __init__(self, store: Store, *, max_batch: int = 256, max_flushes: int = 1) -> None:
        self._store = store
        self._max_batch = max_batch
        self._max_flushes = max_flushes
        self._queue: deque[tuple[AnswerIn, asyncio.Future[Outcome]]] = deque()
        self._flushing = 0

    async def submit(self, answer: AnswerIn) -> Outcome:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append((answer, future))
        self._kick()
        return await future  # cancelling it leaves the flush (its own task) running

    def _kick(self) -> None:
        while self._queue and self._flushing < self._max_flushes:
            batch = self._take()
            self._flushing += 1
            spawn(self._flush(batch), name="answer-flush")

    def _take(self) -> list[tuple[AnswerIn, asyncio.Future[Outcome]]]:
        batch: list[tuple[AnswerIn, asyncio.Future[Outcome]]] = []
        keys: set[tuple[int, int, int]] = set()
        held: list[tuple[AnswerIn, asyncio.Future[Outcome]]] = []
        while self._queue and len(batch) < self._max_batch:
            item = self._queue.popleft()
            if item[0].key in keys:
                held.append(item)  # a duplicate within the batch: the next flush refuses it
            else:
                keys.add(item[0].key)
                batch.append(item)
        self._queue.extendleft(reversed(held))
        return batch

    async def _flush(self, batch: list[tuple[AnswerIn, asyncio.Future[Outcome]]]) -> None:
        try:
            flushed = await self._store([a for a, _ in batch])
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            for (_, future), outcome in zip(batch, flushed.outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)
            if flushed.then is not None:
                await flushed.then()
        finally:
            self._flushing -= 1
            self._kick()
