"""The answer intake (domain/study/intake.py): what a flush runs after its outcomes.

The store here is a plain function, because the intake's contract is about ordering and
waits, not storage (tests/study/test_answers.py stores batches on real PostgreSQL).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from domain.study.answers import Answered, AnswerIn, Outcome
from domain.study.intake import AnswerIntake, Flushed

AT = datetime(2026, 12, 6, tzinfo=UTC)


class GatedStore:
    """Accepts every answer; its follow-up waits for `release`."""

    def __init__(self) -> None:
        self.batches: list[list[AnswerIn]] = []
        self.following = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, batch: Sequence[AnswerIn]) -> Flushed:
        self.batches.append(list(batch))
        outcomes: list[Outcome] = [
            Answered(a.session_id, 7, a.question_id, a.user_id, a.option, AT) for a in batch
        ]
        return Flushed(outcomes, then=self.follow_up)

    async def follow_up(self) -> None:
        self.following.set()
        await self.release.wait()
        self.release.clear()


async def test_callers_are_answered_before_the_follow_up_and_the_next_flush_waits_for_it() -> None:
    store = GatedStore()
    intake = AnswerIntake(store)

    first = await asyncio.wait_for(intake.submit(AnswerIn(1, 1, 1, 2)), 5)
    assert isinstance(first, Answered)  # answered while the follow-up is still running
    assert (first.user_id, first.option) == (1, 2)
    await asyncio.wait_for(store.following.wait(), 5)

    second = asyncio.create_task(intake.submit(AnswerIn(2, 1, 1, 3)))
    third = asyncio.create_task(intake.submit(AnswerIn(3, 1, 1, 0)))
    await asyncio.sleep(0)  # both are queued now
    assert len(store.batches) == 1  # no flush starts while the follow-up runs

    store.release.set()
    answered = await asyncio.wait_for(asyncio.gather(second, third), 5)
    assert [(a.user_id, a.option) for a in answered if isinstance(a, Answered)] == [(2, 3), (3, 0)]
    assert [[a.user_id for a in b] for b in store.batches] == [[1], [2, 3]]
    store.release.set()
