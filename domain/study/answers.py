"""Storing live answers, many in ONE autocommit statement (the ingest path of quiz sessions).

`store` takes a batch of answers (from any members, to any sessions) and stores it with
one statement, one round trip whatever the batch size (decision 0041). The statement:

1. locks the batch's sessions `FOR SHARE`, in id order, and reads their state and
   PostgreSQL's clock after the lock (a reveal committed first is seen);
2. checks every answer in SQL, in the order a lone answer meets the rules (NotFound,
   Forbidden, Invalid option, not in the session, not the open question, too late, the
   question deleted);
3. inserts the accepted ones in key order with `INSERT ... ON CONFLICT DO NOTHING
   RETURNING`, and takes the boards' change numbers for the rows really inserted (as
   boards.take_seqs does: one upsert of `board_versions`, boards locked in name order
   after the answer rows);
4. returns one row per answer (its refusal, or its stored time) and one per moved board.

Guarantees (those of decisions/0014, per answer, at a fraction of the cost):
- Each answer gets its own outcome, in the batch's order: an `Answered`, or the domain
  error a lone answer would get. Nothing is stored for a refused answer; an answer refused
  does not affect the others.
- One row per member per question (the primary key): a duplicate in another statement
  (another batch, another worker) waits for it and is refused with Conflict, never scored.
  The caller must not put two answers with the same key in one batch (the batcher holds
  the second back for the next one).
- The deadline is PostgreSQL's clock, read under the session row's share lock, which the
  statement holds until it commits: closing a question (an UPDATE) waits for the batch,
  so an accepted answer is in the reveal's board. One share lock per session per batch.
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

from sqlalchemy import Row, text
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


# Why each answer is refused (NULL: accepted), in the order `_refusal` turns them into
# domain errors: the order a lone answer meets the rules.
_MISSING, _STRANGER, _OPTION, _FOREIGN, _NOT_OPEN, _LATE, _DELETED = range(1, 8)

# `live` is MATERIALIZED so the share locks are all taken (in id order) before any answer
# row is inserted; `now` is PostgreSQL's clock after them. A CTE read more than once
# (`checked`) is computed once, so each answer is checked once. The answers' rows go in
# key order, and `seqs` sorts boards by name before it locks them: the lock order of
# every batch, and of `boards.take_seqs`. Board names are built as `Board.name` builds
# them. The result: one row per answer (n, refusal, its session's room and epoch, whether
# it is right, its stored time if stored), then one row per moved board with its LAST
# change number (the answer columns NULL).
_STORE = text(
    f"""
    WITH live AS MATERIALIZED (
        SELECT s.id, s.room_id, s.phase, s.current_index, s.question_ids, s.deadline,
               s.started_at, r.created_at AS room_created_at, clock_timestamp() AS now
        FROM quiz_sessions s JOIN rooms r ON r.id = s.room_id
        WHERE s.id = ANY(CAST(:ids AS int[]))
        ORDER BY s.id
        FOR SHARE OF s
    ), checked AS (
        SELECT a.n, a.sid, a.uid, a.qid, a.opt, l.room_id, l.current_index AS pos,
               l.started_at, l.room_created_at, a.opt = q.correct_index AS ok,
               CASE
                 WHEN l.id IS NULL THEN {_MISSING}
                 WHEN NOT EXISTS (SELECT 1 FROM memberships m
                                  WHERE m.room_id = l.room_id AND m.user_id = a.uid)
                   THEN {_STRANGER}
                 WHEN a.opt NOT BETWEEN 0 AND {OPTION_COUNT - 1} THEN {_OPTION}
                 WHEN NOT (a.qid = ANY(l.question_ids)) THEN {_FOREIGN}
                 WHEN l.phase <> '{Phase.open.value}'
                      OR l.question_ids[l.current_index + 1] IS DISTINCT FROM a.qid
                   THEN {_NOT_OPEN}
                 WHEN l.deadline IS NULL OR l.now > l.deadline THEN {_LATE}
                 WHEN q.id IS NULL THEN {_DELETED}
               END AS refusal
        FROM unnest(CAST(:sid AS int[]), CAST(:uid AS int[]), CAST(:qid AS int[]),
                    CAST(:opt AS int[])) WITH ORDINALITY AS a(sid, uid, qid, opt, n)
        LEFT JOIN live l ON l.id = a.sid
        LEFT JOIN questions q ON q.id = a.qid
    ), ins AS (
        INSERT INTO session_answers
            (session_id, user_id, question_id, position, selected_index, is_correct, marks)
        SELECT sid, uid, qid, pos, opt, ok,
               CASE WHEN ok THEN {CORRECT_MARKS} ELSE {WRONG_MARKS} END
        FROM checked WHERE refusal IS NULL
        ORDER BY sid, uid, qid
        ON CONFLICT DO NOTHING
        RETURNING session_id, user_id, question_id, answered_at
    ), moved AS (
        SELECT 'session:' || i.session_id AS board FROM ins i
        UNION ALL
        SELECT 'room:' || l.room_id FROM ins i JOIN live l ON l.id = i.session_id
    ), seqs AS (
        INSERT INTO board_versions (board, version, seq)
        SELECT board, 0, count(*) FROM moved GROUP BY board ORDER BY board
        ON CONFLICT (board) DO UPDATE SET seq = board_versions.seq + EXCLUDED.seq
        RETURNING board, seq
    )
    SELECT c.n, c.refusal, c.room_id, c.started_at, c.room_created_at, c.ok,
           i.answered_at, NULL::text AS board, NULL::bigint AS seq
    FROM checked c
    LEFT JOIN ins i
      ON i.session_id = c.sid AND i.user_id = c.uid AND i.question_id = c.qid
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, board, seq FROM seqs
    """
)


def _refusal(a: AnswerIn, code: int, room_id: int | None) -> DomainError:
    """The domain error a lone answer gets for `code` (see `_STORE`)."""
    if code == _MISSING:
        return NotFound(f"Session {a.session_id} does not exist.")
    if code == _STRANGER:
        return Forbidden(f"You are not a member of room {room_id}.")
    if code == _OPTION:
        return Invalid(f"option must be 0 to {OPTION_COUNT - 1}.")
    if code == _FOREIGN:
        return Invalid(f"Question {a.question_id} is not part of session {a.session_id}.")
    if code == _NOT_OPEN:
        return Invalid(f"Question {a.question_id} is not the open question.")
    if code == _LATE:
        return Invalid("Too late: the question closed.")
    if code == _DELETED:
        return Invalid(f"Question {a.question_id} was deleted.")
    raise AssertionError(f"unknown refusal {code}")


async def store(session: AsyncSession, batch: Sequence[AnswerIn]) -> Stored:
    """Store a batch of answers in one autocommit statement. See the module docstring.

    `session` must not be in a transaction: the statement is its own.
    """
    assert len({a.key for a in batch}) == len(batch), "one answer per key per batch"
    conn = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    found = await conn.execute(
        _STORE,
        {
            "ids": sorted({a.session_id for a in batch}),
            "sid": [a.session_id for a in batch],
            "uid": [a.user_id for a in batch],
            "qid": [a.question_id for a in batch],
            # An option outside int4 would fail the whole batch's cast: any value out of
            # range is refused alike, in its place in the order of the checks.
            "opt": [a.option if 0 <= a.option < OPTION_COUNT else -1 for a in batch],
        },
    )
    per_answer: dict[int, Row[Any]] = {}
    last: dict[str, int] = {}
    for row in found:
        if row.board is None:
            per_answer[row.n] = row
        else:
            last[str(row.board)] = int(row.seq)

    results: list[Outcome] = []
    stored: list[tuple[AnswerIn, Row[Any]]] = []
    for n, a in enumerate(batch, start=1):
        row = per_answer[n]
        if row.refusal is not None:
            results.append(_refusal(a, row.refusal, row.room_id))
        elif row.answered_at is None:
            results.append(Conflict(f"You answered question {a.question_id} already."))
        else:
            results.append(
                Answered(
                    a.session_id, row.room_id, a.question_id, a.user_id, a.option, row.answered_at
                )
            )
            stored.append((a, row))

    # Each board's changes take the numbers up to its last one, in batch order.
    counts: dict[str, int] = {}
    for a, row in stored:
        for board in (session_board(a.session_id), room_board(row.room_id)):
            counts[board.name] = counts.get(board.name, 0) + 1
    assert counts.keys() == last.keys(), "a change number per moved board"
    next_seq = {name: last[name] - k for name, k in counts.items()}
    changes: list[Change] = []
    for a, row in stored:
        points = CORRECT_MARKS if row.ok else WRONG_MARKS
        for board, epoch, unit in (
            (session_board(a.session_id), row.started_at, 1),
            (room_board(row.room_id), row.room_created_at, 100),
        ):
            next_seq[board.name] += 1
            tick = boards.tick_of(row.answered_at, epoch, unit)
            changes.append(
                Change(board, next_seq[board.name], a.user_id, points, tick, bool(row.ok))
            )
    return Stored(results, changes)
