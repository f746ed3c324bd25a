"""Demo data: a demo student, a NEET study group, the bundled question bank, a live quiz
session of its first quiz, scheduled and ready to start, and a directory of clearly
fictional doctors (domain/seed/doctors.py).

`neet_questions.json` is a small bank written for Parley (Physics, Chemistry, Biology with
answers and explanations). Seeding is idempotent: with `only_if_empty` nothing happens when
any user exists.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from domain.security import Passwords
from domain.seed.doctors import seed_doctors
from models import (
    MemberRole,
    Membership,
    Phase,
    Question,
    Quiz,
    QuizSession,
    Role,
    Room,
    RoomKind,
    User,
)
from models.db import make_engine, make_sessionmaker

BANK = Path(__file__).with_name("neet_questions.json")
DEMO_EMAIL = "demo@parley.local"
DEMO_PASSWORD = "parley-demo"


def load_bank() -> list[dict[str, Any]]:
    quizzes: list[dict[str, Any]] = json.loads(BANK.read_text(encoding="utf-8"))["quizzes"]
    return quizzes


async def seed_database(
    database_url: str, passwords: Passwords, *, only_if_empty: bool, reveal_seconds: float = 4.0
) -> dict[str, int]:
    """Create the demo data; with `only_if_empty`, only in a database that has no users."""
    engine = make_engine(database_url, pool_size=1, max_overflow=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            if only_if_empty and (await session.execute(select(func.count(User.id)))).scalar():
                return {}
            demo = (
                await session.execute(select(User).where(User.email == DEMO_EMAIL))
            ).scalar_one_or_none()
            if demo is None:
                demo = User(
                    email=DEMO_EMAIL,
                    display_name="Demo Student",
                    role=Role.student,
                    password_hash=passwords.hash_sync(DEMO_PASSWORD),
                )
                session.add(demo)
                await session.flush()
            room = Room(
                kind=RoomKind.study_group,
                name="NEET 2027 study group",
                owner_id=demo.id,
                invite_code="neet-demo-2027" if only_if_empty else None,
            )
            session.add(room)
            await session.flush()
            session.add(Membership(room_id=room.id, user_id=demo.id, role=MemberRole.owner))
            questions = 0
            first: Quiz | None = None
            for spec in load_bank():
                quiz = Quiz(
                    room_id=room.id,
                    title=spec["title"],
                    subject=spec["subject"],
                    created_by=demo.id,
                )
                quiz.questions = [
                    Question(
                        position=i,
                        subject=q["subject"],
                        topic=q["topic"],
                        difficulty=q["difficulty"],
                        prompt=q["prompt"],
                        options=q["options"],
                        correct_index=q["correct_index"],
                        explanation=q["explanation"],
                    )
                    for i, q in enumerate(spec["questions"])
                ]
                questions += len(quiz.questions)
                session.add(quiz)
                first = first or quiz
            live = 0
            if first is not None and first.questions:
                # A live session ready to start (POST /sessions/{id}/start, or
                # `parley demo quiz` to watch simulated members play it).
                await session.flush()
                ready = QuizSession(
                    quiz_id=first.id,
                    room_id=room.id,
                    created_by=demo.id,
                    phase=Phase.scheduled,
                    question_ids=[q.id for q in first.questions],
                    seconds_per_question=20,
                    reveal_ms=int(reveal_seconds * 1000),
                    current_index=-1,
                )
                session.add(ready)
                await session.flush()
                live = ready.id
            doctors = await seed_doctors(session, passwords)
            return {
                "room_id": room.id,
                "questions": questions,
                "session_id": live,
                "doctors": doctors,
            }
    finally:
        await engine.dispose()
