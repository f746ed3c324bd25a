"""Live quiz sessions of a study group, their answers, and leaderboard versions.

A session's progress is its row: `phase` and `current_index` only ever move forward, by
conditional UPDATEs (domain/study/sessions.py), so two workers driving one session can
never skip a question or reveal one twice. `session_answers` holds one row per member per
question (its primary key), so a second answer can never be stored or scored.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAt


class Phase(StrEnum):
    scheduled = "scheduled"  # created, not started
    open = "open"  # question `current_index` accepts answers until `deadline`
    revealed = "revealed"  # its answer is shown until `deadline`, then the next opens
    ended = "ended"


class QuizSession(CreatedAt, Base):
    __tablename__ = "quiz_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    phase: Mapped[str] = mapped_column(String(16), nullable=False, default=Phase.scheduled)
    # The questions drawn at creation, in play order (fixed for the session's life).
    question_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), nullable=False)
    seconds_per_question: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    reveal_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    current_index: Mapped[int] = mapped_column(Integer, nullable=False, default=-1)
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        CheckConstraint("phase IN ('scheduled', 'open', 'revealed', 'ended')", name="phase_values"),
        CheckConstraint("cardinality(question_ids) BETWEEN 1 AND 200", name="question_count"),
        Index("ix_quiz_sessions_room_id", "room_id"),
        # Every worker's periodic check looks for running sessions: keep that cheap.
        Index(
            "ix_quiz_sessions_running",
            "id",
            postgresql_where=text("phase IN ('open', 'revealed')"),
        ),
    )


class SessionAnswer(Base):
    __tablename__ = "session_answers"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("quiz_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    selected_index: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    is_correct: Mapped[bool] = mapped_column(Boolean, nullable=False)
    marks: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    # PostgreSQL's clock, not a worker's: one clock orders answers from every worker.
    answered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp(), nullable=False
    )

    __table_args__ = (Index("ix_session_answers_user_id", "user_id"),)


class BoardVersion(Base):
    """Per leaderboard (`session:5`, `room:9`): the last snapshot `version` handed out, and
    `seq`, the number of scoring changes committed to it.

    In PostgreSQL, not Redis: a flushed Redis must never make versions go backwards
    (clients ignore a board whose version is not above the one they hold). `seq` is taken
    under this row's lock in the transaction that stores the change, so changes commit in
    `seq` order and one statement's snapshot holding `seq = S` holds exactly changes 1..S:
    the watermark that makes incremental Redis boards exact (decisions/0015).
    """

    __tablename__ = "board_versions"

    board: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default=text("0"))
