"""Authorizing subscribes: concurrent ones of one kind share one storage round trip.

Every subscribe is authorized against storage (PostgreSQL) when it happens, never from a
cache, so a revoked membership takes effect on the next subscribe (0010, and the mark the
hub takes before authorizing). What is shared is only the trip: subscribes that arrive
while a query is in flight, or in the same event-loop turn, are answered by the next
single query of their kind (`ChannelKind.authorize_many`), like a group commit. Alone, a
subscribe waits one loop turn more than a query of its own; 2,000 joining at once cost a
few dozen sessions instead of 2,000 (0027). Kinds without `authorize_many` are
authorized one by one, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager

from sqlalchemy.ext.asyncio import AsyncSession

from domain.tasks import spawn
from realtime.channels import ChannelKind

# A batch's query names at most this many pairs; more wait for the next one.
MAX_BATCH = 500

Waiter = tuple[int, int, "asyncio.Future[str | None]"]


class Authorizer:
    def __init__(self, sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]]) -> None:
        self._sessions = sessions
        self._waiting: dict[str, list[Waiter]] = {}  # by kind name
        self._running: set[str] = set()  # kinds with a batch loop going

    async def authorize(self, kind: ChannelKind, user_id: int, key: int) -> str | None:
        """The kind's answer for this user and id (a role, or None); raises what the
        kind's `authorize` raises (Forbidden, NotFound) or what storage raised."""
        if kind.authorize_many is None:
            async with self._sessions() as session:
                return await kind.authorize(session, user_id, key)
        answer: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(kind.name, []).append((user_id, key, answer))
        if kind.name not in self._running:
            self._running.add(kind.name)
            spawn(self._drain(kind), name="hub-authorize")
        return await answer

    async def _drain(self, kind: ChannelKind) -> None:
        """Answer batches of this kind until none is waiting."""
        try:
            await asyncio.sleep(0)  # let the subscribes of this loop turn join the batch
            while waiting := self._waiting.get(kind.name):
                batch, self._waiting[kind.name] = waiting[:MAX_BATCH], waiting[MAX_BATCH:]
                live = [w for w in batch if not w[2].done()]  # a cancelled subscribe left
                if live:
                    await self._answer(kind, live)
        finally:
            # Normally nothing is left; if this was cancelled (shutdown), nobody may hang.
            for _, _, answer in self._waiting.pop(kind.name, []):
                answer.cancel()
            self._running.discard(kind.name)

    async def _answer(self, kind: ChannelKind, batch: list[Waiter]) -> None:
        assert kind.authorize_many is not None
        pairs = list(dict.fromkeys((user_id, key) for user_id, key, _ in batch))
        answers: Mapping[tuple[int, int], str | Exception | None]
        try:
            async with self._sessions() as session:
                answers = await kind.authorize_many(session, pairs)
        except BaseException as exc:  # each subscribe gets the failure
            for _, _, answer in batch:
                if answer.done():
                    continue
                if isinstance(exc, Exception):
                    answer.set_exception(exc)
                else:
                    answer.cancel()
            if not isinstance(exc, Exception):
                raise
            return
        for user_id, key, answer in batch:
            if answer.done():
                continue
            result = answers[(user_id, key)]
            if isinstance(result, Exception):
                answer.set_exception(result)
            else:
                answer.set_result(result)
