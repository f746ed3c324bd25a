"""Storing a batch of live answers (domain/study/answers.py), on real PostgreSQL.

A batch is what one worker's answer flush stores at once. Each answer in it gets what it
would get alone, checked in a lone answer's order; only the accepted ones are stored and
scored, and they take consecutive change numbers on their boards. The deadline and the
open question are read under the session's share lock, so a reveal that commits first is
seen, and nothing is accepted for a question already closed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from domain.study import answers
from domain.study.answers import Answered, AnswerIn, Outcome
from domain.study.boards import room_board, session_board
from models import Membership, Room, RoomKind
from models.db import make_sessionmaker
from models.quizzes import Difficulty, Question, Quiz, Subject
from models.study import Phase, QuizSession, SessionAnswer
from tests.rows import add_users


@dataclass
class Group:
    sessions: async_sessionmaker[AsyncSession]
    room_id: int
    members: list[int]  # asha, ravi, meera
    stranger: int
    questions: list[int]  # correct option: 1, 2, 3
    other_question: int  # a question of the bank in no session here

    async def session(self, phase: Phase, index: int, deadline_in: float) -> int:
        async with self.sessions() as s, s.begin():
            row = QuizSession(
                quiz_id=await s.scalar(
                    select(Question.quiz_id).where(Question.id == self.questions[0])
                ),
                room_id=self.room_id,
                created_by=self.members[0],
                phase=phase,
                question_ids=self.questions,
                seconds_per_question=30,
                reveal_ms=1000,
                current_index=index,
                deadline=func.now() + timedelta(seconds=deadline_in),
                started_at=func.now(),
            )
            s.add(row)
            await s.flush()
            return row.id

    async def store(self, *batch: AnswerIn) -> answers.Stored:
        async with self.sessions() as s:
            return await answers.store(s, batch)

    async def rows(self, session_id: int) -> list[tuple[int, int, int, int]]:
        """(user, question, option, marks) of the session's stored answers."""
        async with self.sessions() as s:
            found = await s.execute(
                select(
                    SessionAnswer.user_id,
                    SessionAnswer.question_id,
                    SessionAnswer.selected_index,
                    SessionAnswer.marks,
                )
                .where(SessionAnswer.session_id == session_id)
                .order_by(SessionAnswer.user_id, SessionAnswer.question_id)
            )
            return [(u, q, o, m) for u, q, o, m in found]


@pytest.fixture
async def group(db: AsyncEngine) -> Group:
    sessions = make_sessionmaker(db)
    async with sessions() as s, s.begin():
        users = await add_users(s, "Asha", "Ravi", "Meera", "Stranger")
        room = Room(kind=RoomKind.study_group, name="Biology crew", owner_id=users[0].id)
        s.add(room)
        await s.flush()
        s.add_all(Membership(room_id=room.id, user_id=u.id) for u in users[:3])
        quiz = Quiz(room_id=room.id, title="Cells", subject=Subject.biology, created_by=users[0].id)
        s.add(quiz)
        await s.flush()
        questions = [
            Question(
                quiz_id=quiz.id,
                position=i,
                subject=Subject.biology,
                topic="Cells",
                difficulty=Difficulty.easy,
                prompt=f"Q{i}",
                options=["A", "B", "C", "D"],
                correct_index=correct,
            )
            for i, correct in enumerate((1, 2, 3, 0))
        ]
        s.add_all(questions)
        await s.flush()
        return Group(
            sessions,
            room.id,
            [u.id for u in users[:3]],
            users[3].id,
            [q.id for q in questions[:3]],
            questions[3].id,
        )


def kinds(outcomes: list[Outcome]) -> list[str]:
    return [type(o).__name__ for o in outcomes]


async def test_each_answer_of_a_batch_gets_its_own_outcome_and_only_accepted_ones_are_scored(
    group: Group,
) -> None:
    asha, ravi, meera = group.members
    q0, q1, _ = group.questions
    live = await group.session(Phase.open, 0, deadline_in=60)
    late = await group.session(Phase.open, 0, deadline_in=-1)
    revealed = await group.session(Phase.revealed, 0, deadline_in=60)
    [first] = (await group.store(AnswerIn(meera, live, q0, 0))).outcomes
    assert isinstance(first, Answered)

    batch = [
        AnswerIn(asha, live, q0, 1),  # right: +4
        AnswerIn(group.stranger, live, q0, 1),  # not a member
        AnswerIn(ravi, live, q1, 2),  # a later question, not the open one
        AnswerIn(ravi, live, group.other_question, 1),  # not in the session
        AnswerIn(asha, 10**9, q0, 1),  # no such session
        AnswerIn(ravi, late, q0, 1),  # past the deadline
        AnswerIn(ravi, revealed, q0, 1),  # the question closed
        AnswerIn(asha, live, q1, 7),  # no such option
        AnswerIn(meera, live, q0, 1),  # answered already
        AnswerIn(ravi, live, q0, 3),  # wrong: -1
    ]
    stored = await group.store(*batch)

    assert kinds(stored.outcomes) == [
        "Answered",
        "Forbidden",
        "Invalid",
        "Invalid",
        "NotFound",
        "Invalid",
        "Invalid",
        "Invalid",
        "Conflict",
        "Answered",
    ]
    errors = [o for o in stored.outcomes if isinstance(o, DomainError)]
    assert [str(e) for e in errors] == [
        f"You are not a member of room {group.room_id}.",
        f"Question {q1} is not the open question.",
        f"Question {group.other_question} is not part of session {live}.",
        f"Session {10**9} does not exist.",
        "Too late: the question closed.",
        f"Question {q0} is not the open question.",
        "option must be 0 to 3.",
        f"You answered question {q0} already.",
    ]
    assert isinstance(stored.outcomes[1], Forbidden)
    assert isinstance(stored.outcomes[4], NotFound)
    assert isinstance(stored.outcomes[5], Invalid)
    assert isinstance(stored.outcomes[8], Conflict)
    accepted = [o for o in stored.outcomes if isinstance(o, Answered)]
    assert [(o.user_id, o.option, o.room_id) for o in accepted] == [
        (asha, 1, group.room_id),
        (ravi, 3, group.room_id),
    ]

    # Stored: meera's first answer and the two accepted; nothing for the refused.
    assert await group.rows(live) == sorted(
        [(asha, q0, 1, 4), (ravi, q0, 3, -1), (meera, q0, 0, -1)]
    )
    for other in (late, revealed):
        assert await group.rows(other) == []

    # The two accepted answers move both boards, with the change numbers after meera's.
    changes = [(c.board.name, c.seq, c.user_id, c.points) for c in stored.changes]
    assert sorted(changes) == sorted(
        [
            (session_board(live).name, 2, asha, 4),
            (session_board(live).name, 3, ravi, -1),
            (room_board(group.room_id).name, 2, asha, 4),
            (room_board(group.room_id).name, 3, ravi, -1),
        ]
    )


async def test_a_batch_with_nothing_accepted_stores_nothing_and_moves_no_board(
    group: Group,
) -> None:
    asha, ravi, _ = group.members
    live = await group.session(Phase.open, 0, deadline_in=60)
    stored = await group.store(
        AnswerIn(group.stranger, live, group.questions[0], 1),
        AnswerIn(ravi, live, group.questions[2], 1),
        AnswerIn(asha, 10**9, group.questions[0], 1),
    )
    assert kinds(stored.outcomes) == ["Forbidden", "Invalid", "NotFound"]
    assert stored.changes == []
    assert await group.rows(live) == []


async def test_a_reveal_that_commits_first_is_seen_and_the_answer_is_refused(
    group: Group, db: AsyncEngine
) -> None:
    """The closing UPDATE holds the session row; the batch waits for it, then reads the
    closed question (not the snapshot before it) and stores nothing."""
    asha = group.members[0]
    live = await group.session(Phase.open, 0, deadline_in=60)
    async with group.sessions() as closing:
        await closing.execute(
            update(QuizSession).where(QuizSession.id == live).values(phase=Phase.revealed)
        )
        waiting = asyncio.create_task(group.store(AnswerIn(asha, live, group.questions[0], 1)))
        await until_blocked_on_a_lock(db)
        assert not waiting.done()
        await closing.commit()
    [outcome] = (await asyncio.wait_for(waiting, 10)).outcomes
    assert isinstance(outcome, Invalid), outcome
    assert str(outcome) == f"Question {group.questions[0]} is not the open question."
    assert await group.rows(live) == []


async def until_blocked_on_a_lock(db: AsyncEngine, within: float = 10) -> None:
    """Wait until a backend storing answers waits for a lock."""
    async with asyncio.timeout(within):
        while True:
            async with db.connect() as conn:
                waiting = await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        " AND query LIKE '%FOR SHARE%'"
                    )
                )
            if waiting:
                return
            await asyncio.sleep(0.02)
