"""Leaderboards: per quiz session and per study group (all time), as Redis sorted sets.

PostgreSQL is the truth (session answers, and attempts scored by the attempts API); Redis
holds a cache of it, one sorted set per board, moved INCREMENTALLY: each stored answer is
one numbered change (`seq`, taken from `board_versions` in the answer's own transaction,
so changes commit in seq order) applied to the set once, in one Lua step, by the worker
that stored it (`apply`). Redis keeps a watermark W beside the set: every change <= W is
in it, and the few applied above W (out of order: two workers, a batch in flight) are
remembered, so a change applied twice (a retry) or after a rebuild that already holds it
is skipped. Nothing here is ever recomputed from PostgreSQL per answer.

Rebuild (a board missing after a flush/eviction/restart, or "in doubt"): one statement
reads the members' totals AND the board's seq S from one snapshot, so it holds exactly
changes 1..S; the store installs it and re-applies the remembered changes above S, or
refuses it when W > S (the set is already newer). So a rebuilt board equals the lost one,
and increments racing a rebuild are neither lost nor counted twice.

When in doubt, rebuild. A worker that dies between its commit and its Redis call leaves a
seq that no increment will ever fill: W stops below it. The publisher compares W with the
seq PostgreSQL had one window earlier and rebuilds a board that is behind (live.py); every
reveal rebuilds the session board and the end of a session the group's board. Scores the
attempts API adds are not increments: their transaction takes a seq too (`bump`), which no
increment fills, so the board is rebuilt to include them.

Order: score descending, then whoever reached that score first (their latest scoring
event, on PostgreSQL's clock). Both go into one composite float score, exact below 2**53:

    composite = score * 2**33 + (2**33 - 1 - tick)

`tick` counts from the board's epoch (a session's start, in milliseconds; a group's
creation, in tenths of a second: 27 years fit), so an earlier arrival has the larger
remainder and ranks higher; an increment keeps the smaller remainder (the latest tick),
as the rebuild's MAX(answered_at) does. |score| stays below 2**19 (clamped), so
|composite| < 2**52. Members with the same composite (same score within the same tick)
are ordered by Redis's rule, by member descending: deterministic, so a rebuild still
equals the original.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ARRAY, Integer, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from broker import SortedSetStore, Tally
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


# Both queries return the board's seq on every row (one row with NULLs when the board has
# no members): one statement, one snapshot, so the totals hold exactly changes 1..seq.
_SESSION_ROWS = text(
    """
    WITH totals AS (
        SELECT a.user_id, u.display_name, SUM(a.marks)::int AS score,
               COUNT(*) FILTER (WHERE a.is_correct)::int AS correct,
               COUNT(*) FILTER (WHERE NOT a.is_correct)::int AS wrong,
               MAX(a.answered_at) AS at
        FROM session_answers a JOIN users u ON u.id = a.user_id
        WHERE a.session_id = :board AND (:everyone OR a.user_id = ANY(:ids))
        GROUP BY a.user_id, u.display_name
    )
    SELECT coalesce((SELECT seq FROM board_versions WHERE board = :name), 0),
           t.user_id, t.display_name, t.score, t.correct, t.wrong, t.at
    FROM (SELECT 1) one LEFT JOIN totals t ON true
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
    , totals AS (
        SELECT sc.user_id, u.display_name, SUM(sc.score)::int AS score,
               SUM(sc.correct)::int AS correct, SUM(sc.wrong)::int AS wrong, MAX(sc.at) AS at
        FROM scored sc JOIN users u ON u.id = sc.user_id
        GROUP BY sc.user_id, u.display_name
    )
    SELECT coalesce((SELECT seq FROM board_versions WHERE board = :name), 0),
           t.user_id, t.display_name, t.score, t.correct, t.wrong, t.at
    FROM (SELECT 1) one LEFT JOIN totals t ON true
    """
).bindparams(bindparam("ids", type_=ARRAY(Integer)))


async def counted_rows(
    session: AsyncSession, board: Board, user_ids: Sequence[int] | None = None
) -> tuple[int, list[Row]]:
    """The board's seq S and each member's totals (all members, or only `user_ids`) as of
    change S, from one statement."""
    query = _SESSION_ROWS if board.scope == "session" else _ROOM_ROWS
    params = {
        "board": board.id,
        "name": board.name,
        "everyone": user_ids is None,
        "ids": list(user_ids or []),
    }
    result = (await session.execute(query, params)).all()
    seq = int(result[0][0]) if result else 0
    return seq, [Row(*r[1:]) for r in result if r[1] is not None]


async def rows(
    session: AsyncSession, board: Board, user_ids: Sequence[int] | None = None
) -> list[Row]:
    """Each member's totals on the board (all members, or only `user_ids`), one query."""
    return (await counted_rows(session, board, user_ids))[1]


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


def tick_of(at: datetime, epoch: datetime | None, unit_ms: int) -> int:
    """`at` in ticks since the board's epoch (the same function for rebuilds and changes)."""
    if epoch is None:
        return 0
    return int((at - epoch).total_seconds() * 1000) // unit_ms


def rest_of(tick: int) -> int:
    """The tie-break part of a composite score for a member last scoring at `tick`."""
    return TICK_SPAN - 1 - max(0, min(TICK_SPAN - 1, tick))


def _scores(rows_: Sequence[Row], epoch: datetime | None, unit_ms: int) -> dict[str, int]:
    return {
        str(r.user_id): int(composite(r.score, tick_of(r.reached_at, epoch, unit_ms)))
        for r in rows_
    }


async def rebuild(session: AsyncSession, store: SortedSetStore, board: Board) -> bool:
    """Install the board as PostgreSQL holds it now (atomic for readers; the changes above
    the snapshot stay applied). False when the Redis board was already newer."""
    epoch, unit = await _epoch(session, board)
    seq, found = await counted_rows(session, board)
    scores = _scores(found, epoch, unit)
    counts = {str(r.user_id): (r.correct, r.wrong) for r in found}
    return await store.tally_replace(board.key, seq, TICK_SPAN, SCORE_LIMIT, scores, counts)


async def ensure(session: AsyncSession, store: SortedSetStore, board: Board) -> None:
    """Rebuild the board if Redis lost it."""
    if await store.tally_watermark(board.key) is None:
        await rebuild(session, store, board)


@dataclass(frozen=True, slots=True)
class Change:
    """One stored answer as a change of one board: the `seq`-th change, `points` more for
    `user_id`, who scored at `tick` of the board's clock with a `correct` answer or not."""

    board: Board
    seq: int
    user_id: int
    points: int
    tick: int
    correct: bool


async def apply(
    store: SortedSetStore, changes: Mapping[Board, Sequence[Change]]
) -> dict[Board, int | None]:
    """Apply committed changes to their Redis boards, each at most once ever (module
    docstring), in one round trip: one atomic step per board. Per board: None when it is
    missing (the caller rebuilds it; the rebuild holds these changes, committed before it
    reads), else how many applied changes wait above its watermark."""
    by_key = {
        board.key: [
            Tally(
                c.seq, str(c.user_id), c.points, rest_of(c.tick), int(c.correct), int(not c.correct)
            )
            for c in mine
        ]
        for board, mine in changes.items()
    }
    applied = await store.tally_apply_many(TICK_SPAN, SCORE_LIMIT, by_key)
    return {board: applied[board.key] for board in changes}


_TAKE_SEQS = text(
    """
    INSERT INTO board_versions (board, version, seq)
    SELECT b, 0, n FROM unnest(CAST(:boards AS text[]), CAST(:counts AS bigint[])) AS t(b, n)
    ORDER BY b
    ON CONFLICT (board) DO UPDATE SET seq = board_versions.seq + EXCLUDED.seq
    RETURNING board, seq
    """
)


async def take_seqs(session: AsyncSession, counts: dict[str, int]) -> dict[str, int]:
    """Reserve `counts[board]` change numbers per board in the caller's transaction; returns
    each board's LAST number (the range is last-n+1 .. last). The row locks this takes are
    held to the caller's commit, which is what orders commits by seq; boards are locked
    in name order, so two transactions cannot deadlock on them."""
    if not counts:
        return {}
    names = sorted(counts)
    found = await session.execute(
        _TAKE_SEQS, {"boards": names, "counts": [counts[n] for n in names]}
    )
    return {str(b): int(last) for b, last in found.all()}


async def bump(session: AsyncSession, board: Board) -> None:
    """Scores on the board changed other than by `apply` (an attempt): take a seq no
    change will fill, in the caller's transaction, so the board is rebuilt to show it."""
    await take_seqs(session, {board.name: 1})


_NEXT_VERSION = text(
    """
    INSERT INTO board_versions (board, version) VALUES (:name, 1)
    ON CONFLICT (board) DO UPDATE SET version = board_versions.version + 1
    RETURNING version, seq
    """
)


async def next_version(session: AsyncSession, board: Board) -> tuple[int, int]:
    """A new version for the board's next snapshot, and the board's seq (commits)."""
    # A text statement: the ORM insert construct was rebuilt (and its cache key computed)
    # every window of every board.
    version, seq = (await session.execute(_NEXT_VERSION, {"name": board.name})).one()
    await session.commit()
    return int(version), int(seq)


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


_NAMES = text("SELECT id, display_name FROM users WHERE id = ANY(:ids)").bindparams(
    bindparam("ids", type_=ARRAY(Integer))
)


async def details(
    session: AsyncSession, store: SortedSetStore, board: Board, user_ids: Sequence[int]
) -> dict[int, tuple[str, int, int]]:
    """Each member's (name, correct, wrong): names by primary key, counts from the Redis
    board (moved with its scores, so they match the ranks shown). Only members whose counts
    Redis lacks are summed from PostgreSQL's history: a snapshot's database work does not
    grow with the board's history."""
    ids = sorted(set(user_ids))
    counts = await store.tally_counts(board.key, [str(i) for i in ids])
    missing = [i for i in ids if str(i) not in counts]
    found: dict[int, tuple[str, int, int]] = {}
    if missing:
        found = {
            r.user_id: (r.name, r.correct, r.wrong) for r in await rows(session, board, missing)
        }
    known = [i for i in ids if i not in found]
    if known:
        result = await session.execute(_NAMES, {"ids": known})
        names: dict[int, str] = {int(i): str(n) for i, n in result.all()}
        for i in known:
            right, wrong = counts[str(i)]
            found[i] = (names.get(i, ""), right, wrong)
    return found


def _entry(
    rank: int, member: str, value: float, details_: dict[int, tuple[str, int, int]]
) -> BoardEntry:
    uid = int(member)
    name, right, wrong = details_.get(uid, ("", 0, 0))
    return BoardEntry(
        rank=rank,
        user=UserRef(id=uid, name=name),
        score=score_of(value),
        correct=right,
        wrong=wrong,
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
    """Ranks, scores and counts `offset+1 ..` from Redis, names from PostgreSQL by primary
    key (`details`)."""
    await ensure(session, store, board)
    total = await store.sorted_count(board.key)
    members = await store.sorted_top(board.key, offset, min(limit, MAX_PAGE))
    mine = await store.sorted_rank(board.key, str(me)) if me is not None else None
    ids = [int(m) for m, _ in members] + ([me] if mine is not None and me is not None else [])
    found = await details(session, store, board, ids) if ids else {}
    items = [_entry(offset + i + 1, m, v, found) for i, (m, v) in enumerate(members)]
    me_entry = _entry(mine[0] + 1, str(me), mine[1], found) if mine and me else None
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
