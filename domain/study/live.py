"""Study groups live, the moving parts: the session runner and the board publisher.

QuizRunner — who keeps a session's time. Any worker may run any session; a lease in Redis
(`quiz-lease:{id}`, TTL `quiz_lease_seconds`, refreshed at a third of it) makes one worker
do it, and every worker checks every `quiz_check_seconds` for running sessions nobody
holds, so when the runner dies another takes over within lease + check seconds. The lease
is only an economy: transitions are conditional UPDATEs in PostgreSQL
(domain/study/sessions.py), so two runners at once (a frozen worker waking up) still
perform each transition, and publish its event, exactly once. Only a deadline moves a
running session, so the runner reads PostgreSQL at each deadline, not while it waits.

BoardPublisher — how boards reach watchers. An answer marks its boards dirty and tries to
claim the board's publish window (`board-claim:{board}`, a claim_key). The claimant
publishes one snapshot (version from PostgreSQL, framed once), sleeps one window, and
publishes again while the board keeps changing; otherwise it releases the claim and looks
at the dirty mark once more. A writer marks dirty BEFORE trying to claim, so either it
becomes the publisher or the claimant's final look sees its mark: the final state is
always published, and at most one snapshot per window leaves per board whichever worker
the answers hit. The claimant also sends `rank` events (`to=user`) to members whose rank
or score changed, from one read of the whole set: no per-watcher query. Snapshots are
read from Redis (top N, with their counts) with one PostgreSQL query for those N members'
names by primary key (decisions/0034), once per window, never per answer.

Lost changes. The claimant remembers the board's seq (PostgreSQL) at each snapshot; if
`grace` seconds later the Redis watermark is still below it, a change committed that long
ago was never applied (its worker died between commit and Redis): it rebuilds the board
from PostgreSQL before publishing (decisions/0015). It keeps publishing, a window at a
time, until the watermark has caught up, so the final snapshot is exact. The grace (4 windows,
at least 1 s) keeps a busy worker's changes in flight from passing for lost ones: a
needless rebuild is correct, only costly.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections import deque
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker import Broker
from domain import metrics
from domain.errors import DomainError
from domain.events import encode, encode_personal
from domain.study import answers, boards
from domain.study import sessions as quiz_sessions
from domain.study.answers import Answered, AnswerIn
from domain.study.boards import Board, Change, room_board, session_board
from domain.study.events import rank_frame
from domain.study.intake import AnswerIntake, Flushed
from domain.tasks import every, spawn

log = logging.getLogger("parley.study")

_DIRTY_TTL = 600.0
_RANKS_TTL = 86400.0
# Applied changes waiting above a board's watermark beyond which it is rebuilt at once
# (a gap that big is a lost change, not one in flight).
_MAX_ABOVE = 1000


class BoardPublisher:
    def __init__(
        self, broker: Broker, sessions: async_sessionmaker[AsyncSession], window: float
    ) -> None:
        self._broker = broker
        self._sessions = sessions
        self.window = window
        self._claim_ttl = window * 4 + 2  # outlives one publish + one window
        self.running = 0  # publishing loops on this worker (tests wait for quiet)
        self._grace = max(1.0, window * 4)
        # board -> (monotonic time, its PostgreSQL seq) at each recent snapshot
        self._seen: dict[str, deque[tuple[float, int]]] = {}

    async def changed(self, *changed: Board) -> None:
        """Boards whose PostgreSQL state (and sorted set) changed: publish soon."""
        b = self._broker
        # Marked dirty before the claims are tried (two round trips whatever the number of
        # boards): a publisher that holds a claim looks for the mark before it lets go.
        await b.set_keys([f"board-dirty:{board.name}" for board in changed], "1", _DIRTY_TTL)
        claims = [f"board-claim:{board.name}" for board in changed]
        for board, won in zip(
            changed, await b.claim_keys(claims, b.node, self._claim_ttl), strict=True
        ):
            if won:
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
                if await b.has_key(dirty) or await self._unsettled(board):
                    continue
                await b.take_key(claim)
                # A writer that found the claim held marked dirty before trying: look again.
                if await b.has_key(dirty) and await b.claim_key(claim, b.node, self._claim_ttl):
                    continue
                return
        except Exception as exc:  # noqa: BLE001 - the next change (or reveal) publishes again
            log.warning("board publish failed", extra={"error": type(exc).__name__})
        finally:
            self._seen.pop(board.name, None)
            self.running -= 1

    async def _unsettled(self, board: Board) -> bool:
        """True while Redis lacks a change PostgreSQL had at the last snapshot (in flight,
        or lost: `publish` tells them apart by age): publish again a window later."""
        samples = self._seen.get(board.name)
        if not samples:
            return False
        mark = await self._broker.tally_watermark(board.key)
        return mark is None or mark < samples[-1][1]

    async def _behind(self, board: Board) -> bool:
        """True when a change committed before the last snapshot is still not in Redis."""
        samples = self._seen.get(board.name)
        cutoff = time.monotonic() - self._grace
        old = [seq for at, seq in samples or () if at <= cutoff]
        if not old:
            return False
        mark = await self._broker.tally_watermark(board.key)
        return mark is None or mark < old[-1]

    async def publish(self, board: Board) -> int:
        """One snapshot now (and the rank events it implies). Returns its version."""
        b = self._broker
        async with self._sessions() as session:
            if await self._behind(board):
                await boards.rebuild(session, b, board)
            else:
                await boards.ensure(session, b, board)
            version, seq = await boards.next_version(session, board)
            samples = self._seen.setdefault(board.name, deque())
            samples.append((time.monotonic(), seq))
            while len(samples) > 2 and samples[1][0] <= time.monotonic() - self._grace:
                samples.popleft()  # keep the newest sample older than the grace, and later
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
        ranks = [
            (user_id, rank_frame(board.channel, version, rank, score))
            for user_id, (rank, score) in standings.items()
            if previous.get(str(user_id)) != [rank, score]
        ]
        events = [encode(snapshot, b.node)]
        if ranks:  # one message for all of them: each worker parses one header, not N
            events.append(encode_personal("rank", ranks, b.node))
        await b.publish_many(board.channel, events)  # the board first, one round trip
        metrics.BOARD_SNAPSHOTS.inc()
        metrics.published(board.channel)
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
                # Nothing moves a running session before its deadline but this transition
                # (by whichever runner), so wait for it holding the lease, without reading
                # PostgreSQL again: a read per session per second was most of a quiet
                # group's cost (and bursts of them churned the pool's overflow).
                until = time.monotonic() + step.wait
                while True:
                    await b.set_key(_lease(session_id), b.node, self._lease)
                    left = until - time.monotonic()
                    if left <= 0:
                        break
                    await asyncio.sleep(min(left, self._lease / 3))
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
        self._intake = AnswerIntake(self._store)
        self.runner = QuizRunner(
            broker,
            sessions,
            self.boards,
            lease_seconds=lease_seconds,
            check_seconds=check_seconds,
        )

    async def answer(
        self, user_id: int, session_id: int, question_id: int, option: int
    ) -> Answered:
        """Store an answer (domain rules, answers/intake.py), then move its boards.

        Answers arriving together on this worker share one statement and one Redis step
        per board. Raises the answer's own domain error (nothing stored). The answer is
        committed before the boards move: if Redis fails then, the answer stands (the
        reply says so) and the boards catch up (the publisher's check, the reveal).
        """
        outcome = await self._intake.submit(AnswerIn(user_id, session_id, question_id, option))
        if isinstance(outcome, DomainError):
            raise outcome
        metrics.QUIZ_ANSWERS.inc()
        return outcome

    async def _store(self, batch: Sequence[AnswerIn]) -> Flushed:
        async with self.sessions() as session:
            stored = await answers.store(session, batch)
            moved = await self._apply(session, stored.changes) if stored.changes else []
        if not moved:
            return Flushed(stored.outcomes)
        # The boards hold the answers before anyone is acked (read-your-writes); telling
        # the publishers (two Redis round trips) waits until the acks are on their way.
        return Flushed(stored.outcomes, then=functools.partial(self._announce, moved))

    async def _apply(self, session: AsyncSession, changes: list[Change]) -> list[Board]:
        """Committed changes onto the Redis boards, one atomic step per board; returns the
        boards moved. Best effort: what fails here the publisher's check or the next
        rebuild puts right (then nothing is returned to announce)."""
        per_board: dict[Board, list[Change]] = {}
        for change in changes:
            per_board.setdefault(change.board, []).append(change)
        try:
            for board, waiting in (await boards.apply(self.broker, per_board)).items():
                if waiting is None or waiting > _MAX_ABOVE:
                    await boards.rebuild(session, self.broker, board)
        except Exception as exc:  # noqa: BLE001 - stored already; boards catch up later
            log.warning("board update failed", extra={"error": type(exc).__name__})
            return []
        return list(per_board)

    async def _announce(self, moved: list[Board]) -> None:
        """Have the moved boards published (best effort, like `_apply`)."""
        try:
            await self.boards.changed(*moved)
        except Exception as exc:  # noqa: BLE001 - the next change or the reveal publishes
            log.warning("board update failed", extra={"error": type(exc).__name__})

    async def scored(self, room_id: int, user_id: int, *, db: AsyncSession | None = None) -> None:
        """A member's score on the group's board changed other than by a live answer (an
        attempt, committed): take a seq for it and rebuild the board (best effort).

        A caller that holds a database session passes it (`db`): taking a second pooled
        connection while holding one deadlocks the pool under load."""
        board = room_board(room_id)
        try:
            async with contextlib.AsyncExitStack() as stack:
                session = db if db is not None else await stack.enter_async_context(self.sessions())
                await boards.bump(session, board)
                await session.commit()
                await boards.rebuild(session, self.broker, board)
            await self.boards.changed(board)
        except Exception as exc:  # noqa: BLE001 - stored already; the publisher's check rebuilds
            log.warning("board update failed", extra={"error": type(exc).__name__})
