"""NEET quizzes: MCQ questions owned by a study group, and members' scored attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, CreatedAt


class Subject(StrEnum):
    physics = "physics"
    chemistry = "chemistry"
    biology = "biology"
    botany = "botany"
    zoology = "zoology"


class Difficulty(StrEnum):
    easy = "easy"
    medium = "medium"
    hard = "hard"


def _enum(cls: type[StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


class Quiz(CreatedAt, Base):
    __tablename__ = "quizzes"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    subject: Mapped[Subject] = mapped_column(_enum(Subject, "subject"), nullable=False)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    questions: Mapped[list[Question]] = relationship(
        back_populates="quiz",
        order_by="Question.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    __table_args__ = (Index("ix_quizzes_room_id", "room_id"),)


class Question(Base):
    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    subject: Mapped[Subject] = mapped_column(_enum(Subject, "subject"), nullable=False)
    topic: Mapped[str] = mapped_column(String(120), nullable=False)
    difficulty: Mapped[Difficulty] = mapped_column(_enum(Difficulty, "difficulty"), nullable=False)
    prompt: Mapped[str] = mapped_column(Text, nullable=False)
    options: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    correct_index: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    explanation: Mapped[str] = mapped_column(Text, nullable=False, default="")

    quiz: Mapped[Quiz] = relationship(back_populates="questions")

    __table_args__ = (
        CheckConstraint("array_length(options, 1) = 4", name="four_options"),
        CheckConstraint("correct_index BETWEEN 0 AND 3", name="correct_index_range"),
        Index("ix_questions_quiz_id_position", "quiz_id", "position"),
    )


class Attempt(Base):
    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    correct: Mapped[int] = mapped_column(Integer, nullable=False)
    wrong: Mapped[int] = mapped_column(Integer, nullable=False)
    unanswered: Mapped[int] = mapped_column(Integer, nullable=False)
    submitted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    answers: Mapped[list[Answer]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="Answer.question_id"
    )

    __table_args__ = (Index("ix_attempts_quiz_id_user_id", "quiz_id", "user_id"),)


class Answer(Base):
    __tablename__ = "answers"

    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    selected_index: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    is_correct: Mapped[bool | None] = mapped_column(nullable=True)
    marks: Mapped[int] = mapped_column(SmallInteger, nullable=False)

    __table_args__ = (Index("ix_answers_question_id", "question_id"),)
