"""Study groups live, the moving parts: the session runner and the board publisher.

QuizRunner — who keeps a session's time. Any worker may run any session; a lease in Redis
(`quiz-lease:{id}`, TTL `quiz_lease_seconds`, refreshed at a third of it) makes one worker
do it, and every worker checks every `quiz_check_seconds` for running sessions nobody
holds, so when the runner dies another takes over within lease + check seconds. The lease
is only an economy: transitions are conditional UPDATEs in PostgreSQL
(domain/study/sessions.py), so two runners at once (a frozen worker waking up) still
perform each transition, and publish its event, exactly once.

BoardPublisher — how boards reach watchers. An answer marks its boards dirty and tries to
claim the board's publish window (`board-claim:{board}`, a claim_key). The claimant
publishes one snapshot (version from PostgreSQL, framed once), sleeps one window, and
publishes again while the board keeps changing; otherwise it releases the claim and looks
at the dirty mark once more. A writer marks dirty BEFORE trying to claim, so either it
becomes the publisher or the claimant's final look sees its mark: the final state is
always published, and at most one snapshot per window leaves per board whichever worker
the answers hit. The claimant also sends `rank` events (`to=user`) to members whose rank
or score changed, from one read of the whole set: no per-watcher query.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker import Broker
from domain import metrics
from domain.events import encode
from domain.study import boards
from domain.study import sessions as quiz_sessions
from domain.study.boards import Board, room_board, session_board
from domain.study.events import RankEvent
from domain.tasks import every, spawn

log = logging.getLogger("parley.study")

_DIRTY_TTL = 600.0
_RANKS_TTL = 86400.0


class BoardPublisher:
    def __init__(
        self, broker: Broker, sessions: async_sessionmaker[AsyncSession], window: float
    ) -> None:
        self._broker = broker
        self._sessions = sessions
        self.window = window
        self._claim_ttl = window * 4 + 2  # outlives one publish + one window
        self.running = 0  # publishing loops on this worker (tests wait for quiet)

    async def changed(self, *changed: Board) -> None:
        """Boards whose PostgreSQL state (and sorted set) changed: publish soon."""
        b = self._broker
        for board in changed:
            await b.set_key(f"board-dirty:{board.name}", "1", _DIRTY_TTL)
            if await b.claim_key(f"board-claim:{board.name}", b.node, self._claim_ttl):
                self.running += 1
                spawn(self._run(board), name="board-publish")
            else:
                metrics.BOARD_COALESCED.inc()

    async def _run(self, board: Board) -> None:
        b, dirty, claim = self._broker, f"board-dirty:{board.name}", f"board-claim:{board.name}"
        try:
            while True:
                await b.take_key(dirty)  # cleared before reading: later changes re-mark it
                await self.publish(board)
                await b.set_key(claim, b.node, self._claim_ttl)
                await asyncio.sleep(self.window)
                if await b.has_key(dirty):
                    continue
                await b.take_key(claim)
                # A writer that found the claim held marked dirty before trying: look again.
                if await b.has_key(dirty) and await b.claim_key(claim, b.node, self._claim_ttl):
                    continue
                return
        except Exception as exc:  # noqa: BLE001 - the next change (or reveal) publishes again
            log.warning("board publish failed", extra={"error": type(exc).__name__})
        finally:
            self.running -= 1

    async def publish(self, board: Board) -> int:
        """One snapshot now (and the rank events it implies). Returns its version."""
        b = self._broker
        async with self._sessions() as session:
            await boards.ensure(session, b, board)
            version = await boards.next_version(session, board)
            snapshot = await boards.snapshot(session, b, board, version)
        standings = await boards.standings(b, board)
        previous: dict[str, list[int]] = {}
        raw = await b.take_key(f"board-ranks:{board.name}")
        if raw:
            with contextlib.suppress(ValueError):
                previous = json.loads(raw)
        await b.set_key(
            f"board-ranks:{board.name}",
            json.dumps({str(u): list(v) for u, v in standings.items()}),
            _RANKS_TTL,
        )
        await b.publish(board.channel, encode(snapshot, b.node))
        metrics.BOARD_SNAPSHOTS.inc()
        metrics.published(board.channel)
        for user_id, (rank, score) in standings.items():
            if previous.get(str(user_id)) != [rank, score]:
                event = RankEvent(channel=board.channel, version=version, rank=rank, score=score)
                await b.publish(board.channel, encode(event, b.node, to=user_id))
        return version


class QuizRunner:
    def __init__(
        self,
        broker: Broker,
        sessions: async_sessionmaker[AsyncSession],
        publisher: BoardPublisher,
        *,
        lease_seconds: float,
        check_seconds: float,
    ) -> None:
        self._broker = broker
        self._sessions = sessions
        self._boards = publisher
        self._lease = lease_seconds
        self._check = check_seconds
        self._driving: dict[int, asyncio.Task[None]] = {}
        self._scan: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._scan = spawn(every(self._check, self.scan), name="quiz-scan")

    async def close(self) -> None:
        """Stop running sessions here and hand their leases back at once, so another
        worker takes over at its next check instead of after the lease expires."""
        if self._scan is not None:
            self._scan.cancel()
        tasks = list(self._driving.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)

    def driving(self) -> set[int]:
        return set(self._driving)

    async def scan(self) -> None:
        """Take over every running session nobody holds a lease on."""
        async with self._sessions() as session:
            ids = await quiz_sessions.running_ids(session)
        for session_id in ids:
            await self.kick(session_id)

    async def kick(self, session_id: int) -> None:
        """Run the session here if no worker holds its lease."""
        if session_id in self._driving:
            return
        if await self._broker.claim_key(_lease(session_id), self._broker.node, self._lease):
            self._driving[session_id] = spawn(self._drive(session_id), name="quiz-run")

    async def _drive(self, session_id: int) -> None:
        b = self._broker
        try:
            while True:
                async with self._sessions() as session:
                    step = await quiz_sessions.advance(session, session_id)
                if step.events:
                    await quiz_sessions.announce(b, b.node, step.events)
                if step.revealed or step.ended:
                    await self._settle(session_id, step.room_id, ended=step.ended)
                if step.wait is None:
                    return
                await b.set_key(_lease(session_id), b.node, self._lease)
                await asyncio.sleep(min(step.wait, self._lease / 3))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the lease goes back; a scan retries
            log.warning("quiz session run failed", extra={"error": type(exc).__name__})
        finally:
            self._driving.pop(session_id, None)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await b.take_key(_lease(session_id))

    async def _settle(self, session_id: int, room_id: int, *, ended: bool) -> None:
        """At a reveal (and the end) the session board is made exact from PostgreSQL and
        published; at the end the group's all-time board too."""
        changed = [session_board(session_id)] + ([room_board(room_id)] if ended else [])
        async with self._sessions() as session:
            for board in changed:
                await boards.rebuild(session, self._broker, board)
        await self._boards.changed(*changed)


def _lease(session_id: int) -> str:
    return f"quiz-lease:{session_id}"


class Study:
    """The per-worker study services (built by the lifespan)."""

    def __init__(
        self,
        broker: Broker,
        sessions: async_sessionmaker[AsyncSession],
        *,
        window: float,
        lease_seconds: float,
        check_seconds: float,
    ) -> None:
        self.broker = broker
        self.sessions = sessions
        self.boards = BoardPublisher(broker, sessions, window)
        self.runner = QuizRunner(
            broker,
            sessions,
            self.boards,
            lease_seconds=lease_seconds,
            check_seconds=check_seconds,
        )

    async def answer(
        self, user_id: int, session_id: int, question_id: int, option: int
    ) -> quiz_sessions.Answered:
        """Store an answer (domain rules), then update and publish its boards.

        The answer is committed before the boards move: if Redis fails here the answer
        stands (the reply says so) and the reveal's rebuild puts the boards right.
        """
        async with self.sessions() as session:
            answered = await quiz_sessions.answer(session, session_id, user_id, question_id, option)
            metrics.QUIZ_ANSWERS.inc()
            await self.scored(answered.room_id, user_id, session_id, db=session)
        return answered

    async def scored(
        self,
        room_id: int,
        user_id: int,
        session_id: int | None = None,
        *,
        db: AsyncSession | None = None,
    ) -> None:
        """A member's score changed in PostgreSQL: move their boards (best effort).

        A caller that holds a database session passes it (`db`): taking a second pooled
        connection while holding one deadlocks the pool under load."""
        changed = [room_board(room_id)]
        if session_id is not None:
            changed.insert(0, session_board(session_id))
        try:
            async with contextlib.AsyncExitStack() as stack:
                session = db if db is not None else await stack.enter_async_context(self.sessions())
                for board in changed:
                    await boards.record(session, self.broker, board, [user_id])
            await self.boards.changed(*changed)
        except Exception as exc:  # noqa: BLE001 - stored already; boards catch up later
            log.warning("board update failed", extra={"error": type(exc).__name__})
