"""Storing live answers, many per transaction (the ingest path of quiz sessions).

`store` takes a batch of answers (from any members, to any sessions) and, in ONE
transaction of two statements whatever the batch size:

1. locks the batch's sessions `FOR SHARE` and reads their state and PostgreSQL's clock,
   the members' memberships and the questions' keys (one statement);
2. inserts every answer that passed the checks with one multi-row
   `INSERT ... ON CONFLICT DO NOTHING RETURNING` and, in the same statement, takes the
   boards' change numbers for the rows really inserted (as boards.take_seqs does: one
   upsert of `board_versions`, boards locked in name order after the answer rows).

Guarantees (those of decisions/0014, per answer, at a fraction of the cost):
- Each answer gets its own outcome, in the batch's order: an `Answered`, or the domain
  error a lone answer would get, checked in the same order (NotFound, Forbidden, Invalid,
  Conflict). Nothing is stored for a refused answer; an answer refused does not affect
  the others.
- One row per member per question (the primary key): a duplicate in another transaction
  (another batch, another worker) waits for it and is refused with Conflict, never scored.
  The caller must not put two answers with the same key in one batch (the batcher holds
  the second back for the next one).
- The deadline is PostgreSQL's clock, read under the session row's share lock: closing a
  question (an UPDATE) waits for the batch to commit, so an accepted answer is in the
  reveal's board. One share lock per session per batch, not per answer.
- Changes commit in seq order per board (the board rows stay locked to the commit).
- Locks are taken in one order by every batch (sessions by id, answer keys sorted, boards
  by name), so concurrent batches wait on each other but never deadlock.

A database failure raises for the whole batch; nothing of it is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from domain.scoring import CORRECT_MARKS, OPTION_COUNT, WRONG_MARKS
from domain.study import boards
from domain.study.boards import Change, room_board, session_board
from models import Phase


@dataclass(frozen=True, slots=True)
class AnswerIn:
    user_id: int
    session_id: int
    question_id: int
    option: int

    @property
    def key(self) -> tuple[int, int, int]:
        """The primary key of the row it would store."""
        return (self.session_id, self.user_id, self.question_id)


@dataclass(frozen=True, slots=True)
class Answered:
    session_id: int
    room_id: int
    question_id: int
    user_id: int
    option: int
    answered_at: datetime


Outcome = Answered | DomainError


@dataclass(frozen=True, slots=True)
class Stored:
    """A batch's outcomes (one per answer, in order) and the board changes to apply."""

    outcomes: list[Outcome]
    changes: list[Change]


# One round trip for all the batch's facts: the sessions, locked `FOR SHARE` in id order
# with PostgreSQL's clock; per session, which of the batch's users are members of its room
# and the keys of the batch's questions (read under the same snapshot, so exactly what
# separate statements in this transaction would have read).
_FACTS = text(
    """
    WITH live AS MATERIALIZED (
        SELECT s.id, s.room_id, s.phase, s.current_index, s.question_ids, s.deadline,
               s.started_at, r.created_at, clock_timestamp() AS now
        FROM quiz_sessions s JOIN rooms r ON r.id = s.room_id
        WHERE s.id = ANY(CAST(:ids AS int[]))
        ORDER BY s.id
        FOR SHARE OF s
    )
    SELECT l.id, l.room_id, l.phase, l.current_index, l.question_ids, l.deadline,
           l.started_at, l.created_at, l.now,
           ARRAY(SELECT m.user_id FROM memberships m
                 WHERE m.room_id = l.room_id AND m.user_id = ANY(CAST(:users AS int[]))),
           ARRAY(SELECT q.id FROM questions q
                 WHERE q.id = ANY(CAST(:qids AS int[])) ORDER BY q.id),
           ARRAY(SELECT q.correct_index FROM questions q
                 WHERE q.id = ANY(CAST(:qids AS int[])) ORDER BY q.id)
    FROM live l
    ORDER BY l.id
    """
)
# The inserted rows, then one row per board with its LAST change number (board, seq; the
# answer columns NULL). Board names are built as `Board.name` builds them. The seqs' upsert
# reads the insert's RETURNING (so it counts only rows really inserted) and sorts by name
# before it locks: the same lock order as `boards.take_seqs`, after the answer rows.
_INSERT = text(
    """
    WITH ins AS (
        INSERT INTO session_answers
            (session_id, user_id, question_id, position, selected_index, is_correct, marks)
        SELECT * FROM unnest(
            CAST(:sid AS int[]), CAST(:uid AS int[]), CAST(:qid AS int[]),
            CAST(:pos AS smallint[]), CAST(:opt AS smallint[]), CAST(:ok AS boolean[]),
            CAST(:marks AS smallint[]))
        ON CONFLICT DO NOTHING
        RETURNING session_id, user_id, question_id, answered_at
    ), moved AS (
        SELECT 'session:' || i.session_id AS board FROM ins i
        UNION ALL
        SELECT 'room:' || r.room_id FROM ins i
        JOIN unnest(CAST(:rooms_sid AS int[]), CAST(:rooms_id AS int[])) AS r(sid, room_id)
          ON r.sid = i.session_id
    ), seqs AS (
        INSERT INTO board_versions (board, version, seq)
        SELECT board, 0, count(*) FROM moved GROUP BY board ORDER BY board
        ON CONFLICT (board) DO UPDATE SET seq = board_versions.seq + EXCLUDED.seq
        RETURNING board, seq
    )
    SELECT session_id, user_id, question_id, answered_at, NULL::text, NULL::bigint FROM ins
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, board, seq FROM seqs
    """
)


@dataclass(frozen=True, slots=True)
class _Live:
    room_id: int
    phase: str
    index: int
    question_ids: list[int]
    deadline: datetime | None
    started_at: datetime | None
    room_created_at: datetime
    now: datetime


def _check(a: AnswerIn, live: _Live | None, members: set[tuple[int, int]]) -> DomainError | None:
    """The rules of one answer, in the order a lone answer meets them."""
    if live is None:
        return NotFound(f"Session {a.session_id} does not exist.")
    if (live.room_id, a.user_id) not in members:
        return Forbidden(f"You are not a member of room {live.room_id}.")
    if not 0 <= a.option < OPTION_COUNT:
        return Invalid(f"option must be 0 to {OPTION_COUNT - 1}.")
    if a.question_id not in live.question_ids:
        return Invalid(f"Question {a.question_id} is not part of session {a.session_id}.")
    if live.phase != Phase.open or live.question_ids[live.index] != a.question_id:
        return Invalid(f"Question {a.question_id} is not the open question.")
    if live.deadline is None or live.now > live.deadline:
        return Invalid("Too late: the question closed.")
    return None


async def store(session: AsyncSession, batch: Sequence[AnswerIn]) -> Stored:
    """Store a batch of answers in one transaction (commits). See the module docstring."""
    assert len({a.key for a in batch}) == len(batch), "one answer per key per batch"
    found = await session.execute(
        _FACTS,
        {
            "ids": sorted({a.session_id for a in batch}),
            "users": sorted({a.user_id for a in batch}),
            "qids": sorted({a.question_id for a in batch}),
        },
    )
    sessions: dict[int, _Live] = {}
    members: set[tuple[int, int]] = set()
    keys: dict[int, int] = {}
    for row in found:
        state = sessions[row[0]] = _Live(*row[1:9])
        members.update((state.room_id, user_id) for user_id in row[9])
        keys.update(zip(row[10], row[11], strict=True))
    errors: dict[tuple[int, int, int], DomainError | None] = {}
    rows: dict[str, list[Any]] = {k: [] for k in ("sid", "uid", "qid", "pos", "opt", "ok", "marks")}
    # Rows go in key order: two batches inserting the same keys (one member on two workers)
    # then wait on each other in one order, never in a cycle (a deadlock would fail both).
    for a in sorted(batch, key=lambda a: a.key):
        live = sessions.get(a.session_id)
        error = _check(a, live, members)
        if error is None and a.question_id not in keys:
            error = Invalid(f"Question {a.question_id} was deleted.")
        errors[a.key] = error
        if error is None:
            assert live is not None
            ok = a.option == keys[a.question_id]
            for name, value in zip(
                rows,
                (a.session_id, a.user_id, a.question_id, live.index, a.option, ok,
                 CORRECT_MARKS if ok else WRONG_MARKS),
                strict=True,
            ):  # fmt: skip
                rows[name].append(value)
    outcomes = [errors[a.key] for a in batch]
    inserted: dict[tuple[int, int, int], datetime] = {}
    last: dict[str, int] = {}
    if rows["sid"]:
        in_batch = sorted(set(rows["sid"]))
        params = {
            **rows,
            "rooms_sid": in_batch,
            "rooms_id": [sessions[s].room_id for s in in_batch],
        }
        for s, u, q, at, board_name, seq in await session.execute(_INSERT, params):
            if board_name is None:
                inserted[(s, u, q)] = at
            else:
                last[str(board_name)] = int(seq)
    stored = [a for a, o in zip(batch, outcomes, strict=True) if o is None and a.key in inserted]
    counts: dict[str, int] = {}
    for a in stored:
        for board in (session_board(a.session_id), room_board(sessions[a.session_id].room_id)):
            counts[board.name] = counts.get(board.name, 0) + 1
    assert counts.keys() == last.keys(), "a change number per moved board"
    await session.commit()

    next_seq = {name: last[name] - n for name, n in counts.items()}
    changes: list[Change] = []
    results: list[Outcome] = []
    for a, error in zip(batch, outcomes, strict=True):
        if error is not None:
            results.append(error)
            continue
        at = inserted.get(a.key)
        if at is None:
            results.append(Conflict(f"You answered question {a.question_id} already."))
            continue
        live = sessions[a.session_id]
        ok = a.option == keys[a.question_id]
        points = CORRECT_MARKS if ok else WRONG_MARKS
        for board, epoch, unit in (
            (session_board(a.session_id), live.started_at, 1),
            (room_board(live.room_id), live.room_created_at, 100),
        ):
            next_seq[board.name] += 1
            tick = boards.tick_of(at, epoch, unit)
            changes.append(Change(board, next_seq[board.name], a.user_id, points, tick, ok))
        results.append(Answered(a.session_id, live.room_id, a.question_id, a.user_id, a.option, at))
    return Stored(results, changes)
