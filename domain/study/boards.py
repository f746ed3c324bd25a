"""Leaderboards: per quiz session and per study group (all time), as Redis sorted sets.

PostgreSQL is the truth (session answers, and attempts scored by the attempts API); Redis
holds a cache of it, one sorted set per board. Every write is an absolute value computed
from PostgreSQL (never an increment), so replaying or reordering writes cannot drift, and
a board that is missing (flushed, evicted, restarted) is rebuilt whole from the same rows
with the same function: the rebuilt set equals the lost one.

Order: score descending, then whoever reached that score first (their latest scoring
event, on PostgreSQL's clock). Both go into one composite float score, exact below 2**53:

    composite = score * 2**33 + (2**33 - 1 - tick)

`tick` counts from the board's epoch (a session's start, in milliseconds; a group's
creation, in tenths of a second: 27 years fit), so an earlier arrival has the larger
remainder and ranks higher. |score| stays below 2**19, so |composite| < 2**52. Members
with the same composite (same score within the same tick) are ordered by Redis's rule,
by member descending: deterministic, so a rebuild still equals the original.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ARRAY, Integer, bindparam, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from broker import SortedSetStore
from domain.events import UserRef
from domain.study.events import BoardEntry, BoardEvent
from models import BoardVersion, QuizSession, Room

BOARD_TOP = 10
TICK_SPAN = 2**33
SCORE_LIMIT = 2**19
MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class Board:
    scope: Literal["session", "room"]
    id: int

    @property
    def key(self) -> str:
        """The sorted set's name (the broker adds its prefix)."""
        return f"lb:{self.scope}:{self.id}"

    @property
    def name(self) -> str:
        return f"{self.scope}:{self.id}"

    @property
    def channel(self) -> str:
        return f"quiz:{self.id}" if self.scope == "session" else f"leaderboard:{self.id}"


def session_board(session_id: int) -> Board:
    return Board("session", session_id)


def room_board(room_id: int) -> Board:
    return Board("room", room_id)


def composite(score: int, tick: int) -> float:
    """Score first, then the earlier tick; exact (see the module docstring)."""
    score = max(-SCORE_LIMIT + 1, min(SCORE_LIMIT - 1, score))
    tick = max(0, min(TICK_SPAN - 1, tick))
    return float(score * TICK_SPAN + (TICK_SPAN - 1 - tick))


def score_of(value: float) -> int:
    return int(value) // TICK_SPAN


@dataclass(frozen=True, slots=True)
class Row:
    user_id: int
    name: str
    score: int
    correct: int
    wrong: int
    reached_at: datetime


_SESSION_ROWS = text(
    """
    SELECT a.user_id, u.display_name, SUM(a.marks)::int,
           COUNT(*) FILTER (WHERE a.is_correct)::int,
           COUNT(*) FILTER (WHERE NOT a.is_correct)::int, MAX(a.answered_at)
    FROM session_answers a JOIN users u ON u.id = a.user_id
    WHERE a.session_id = :board AND (:everyone OR a.user_id = ANY(:ids))
    GROUP BY a.user_id, u.display_name
    """
).bindparams(bindparam("ids", type_=ARRAY(Integer)))

# Every session of the group and every attempt at one of its quizzes.
_ROOM_ROWS = text(
    """
    WITH scored AS (
        SELECT a.user_id, a.marks AS score, a.is_correct::int AS correct,
               (NOT a.is_correct)::int AS wrong, a.answered_at AS at
        FROM session_answers a JOIN quiz_sessions s ON s.id = a.session_id
        WHERE s.room_id = :board AND (:everyone OR a.user_id = ANY(:ids))
        UNION ALL
        SELECT t.user_id, t.score, t.correct, t.wrong, t.submitted_at
        FROM attempts t JOIN quizzes q ON q.id = t.quiz_id
        WHERE q.room_id = :board AND (:everyone OR t.user_id = ANY(:ids))
    )
    SELECT sc.user_id, u.display_name, SUM(sc.score)::int, SUM(sc.correct)::int,
           SUM(sc.wrong)::int, MAX(sc.at)
    FROM scored sc JOIN users u ON u.id = sc.user_id
    GROUP BY sc.user_id, u.display_name
    """
).bindparams(bindparam("ids", type_=ARRAY(Integer)))


async def rows(
    session: AsyncSession, board: Board, user_ids: Sequence[int] | None = None
) -> list[Row]:
    """Each member's totals on the board (all members, or only `user_ids`), one query."""
    query = _SESSION_ROWS if board.scope == "session" else _ROOM_ROWS
    result = await session.execute(
        query,
        {"board": board.id, "everyone": user_ids is None, "ids": list(user_ids or [])},
    )
    return [Row(*r) for r in result.all()]


async def _epoch(session: AsyncSession, board: Board) -> tuple[datetime | None, int]:
    """The board's epoch and tick length in milliseconds."""
    if board.scope == "session":
        started = (
            await session.execute(select(QuizSession.started_at).where(QuizSession.id == board.id))
        ).scalar_one_or_none()
        return started, 1
    created = (
        await session.execute(select(Room.created_at).where(Room.id == board.id))
    ).scalar_one_or_none()
    return created, 100


def _scores(rows_: Sequence[Row], epoch: datetime | None, unit_ms: int) -> dict[str, float]:
    def tick(at: datetime) -> int:
        if epoch is None:
            return 0
        return int((at - epoch).total_seconds() * 1000) // unit_ms

    return {str(r.user_id): composite(r.score, tick(r.reached_at)) for r in rows_}


async def rebuild(session: AsyncSession, store: SortedSetStore, board: Board) -> None:
    """Replace the board's sorted set with what PostgreSQL holds (atomic for readers)."""
    epoch, unit = await _epoch(session, board)
    await store.sorted_replace(board.key, _scores(await rows(session, board), epoch, unit))


async def ensure(session: AsyncSession, store: SortedSetStore, board: Board) -> None:
    """Rebuild the board if Redis lost it (an empty board is never stored: cheap to redo)."""
    if not await store.sorted_exists(board.key):
        await rebuild(session, store, board)


async def record(
    session: AsyncSession, store: SortedSetStore, board: Board, user_ids: Sequence[int]
) -> None:
    """After members' scores changed in PostgreSQL (committed): write their totals."""
    if not await store.sorted_exists(board.key):
        await rebuild(session, store, board)
        return
    epoch, unit = await _epoch(session, board)
    await store.sorted_add(board.key, _scores(await rows(session, board, user_ids), epoch, unit))


async def next_version(session: AsyncSession, board: Board) -> int:
    """A new version for the board's next snapshot (commits)."""
    stmt = (
        insert(BoardVersion)
        .values(board=board.name, version=1)
        .on_conflict_do_update(
            index_elements=[BoardVersion.board], set_={"version": BoardVersion.version + 1}
        )
        .returning(BoardVersion.version)
    )
    version = (await session.execute(stmt)).scalar_one()
    await session.commit()
    return int(version)


async def current_version(session: AsyncSession, board: Board) -> int:
    value = (
        await session.execute(select(BoardVersion.version).where(BoardVersion.board == board.name))
    ).scalar_one_or_none()
    return int(value or 0)


@dataclass(frozen=True, slots=True)
class BoardPage:
    version: int
    total: int
    items: list[BoardEntry]
    me: BoardEntry | None


def _entry(rank: int, member: str, value: float, details: dict[int, Row]) -> BoardEntry:
    uid = int(member)
    row = details.get(uid)
    return BoardEntry(
        rank=rank,
        user=UserRef(id=uid, name=row.name if row else ""),
        score=row.score if row else score_of(value),
        correct=row.correct if row else 0,
        wrong=row.wrong if row else 0,
    )


async def page(
    session: AsyncSession,
    store: SortedSetStore,
    board: Board,
    *,
    offset: int = 0,
    limit: int = BOARD_TOP,
    me: int | None = None,
    version: int | None = None,
) -> BoardPage:
    """Ranks `offset+1 ..` from Redis, details (names, counts) from PostgreSQL in one query."""
    await ensure(session, store, board)
    total = await store.sorted_count(board.key)
    members = await store.sorted_top(board.key, offset, min(limit, MAX_PAGE))
    mine = await store.sorted_rank(board.key, str(me)) if me is not None else None
    ids = [int(m) for m, _ in members] + ([me] if mine is not None and me is not None else [])
    details = {r.user_id: r for r in await rows(session, board, ids)} if ids else {}
    items = [_entry(offset + i + 1, m, v, details) for i, (m, v) in enumerate(members)]
    me_entry = _entry(mine[0] + 1, str(me), mine[1], details) if mine and me else None
    if version is None:
        version = await current_version(session, board)
    return BoardPage(version=version, total=total, items=items, me=me_entry)


async def snapshot(
    session: AsyncSession, store: SortedSetStore, board: Board, version: int
) -> BoardEvent:
    """The `board` event: the top 10 and the number of ranked members."""
    top = await page(session, store, board, limit=BOARD_TOP, version=version)
    return BoardEvent(channel=board.channel, version=version, total=top.total, top=top.items)


async def standings(store: SortedSetStore, board: Board) -> dict[int, tuple[int, int]]:
    """Every member's (rank, score), from one read of the whole set."""
    count = await store.sorted_count(board.key)
    members = await store.sorted_top(board.key, 0, count)
    return {int(m): (i + 1, score_of(v)) for i, (m, v) in enumerate(members)}
