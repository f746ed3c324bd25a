"""Request and response bodies of quiz sessions, leaderboards and study history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.study.sessions import MAX_SECONDS_PER_QUESTION, MAX_SESSION_QUESTIONS
from models import Difficulty, Subject
from rest.schemas.fields import RowId, Storable


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SessionCreate(_In):
    """Plays the quiz's questions in order; with `count` or any filter, a random draw of
    `count` questions (default: all that match) from the whole group's bank instead."""

    seconds_per_question: Annotated[int, Field(ge=1, le=MAX_SECONDS_PER_QUESTION)] = 30
    count: Annotated[int | None, Field(ge=1, le=MAX_SESSION_QUESTIONS)] = None
    subject: Subject | None = None
    topic: Annotated[str, StringConstraints(min_length=1, max_length=120), Storable] | None = None
    difficulty: Difficulty | None = None


class SessionOut(BaseModel):
    id: int
    quiz_id: int
    room_id: int
    status: Literal["scheduled", "running", "ended"]
    question_count: int
    seconds_per_question: int
    current_index: int
    started_at: datetime | None
    ended_at: datetime | None
    # Extensions: where a running session is, and when that phase ends (server clock).
    phase: Literal["scheduled", "open", "revealed", "ended"]
    deadline: datetime | None


class AnswerIn(_In):
    question_id: RowId
    option: Annotated[int, Field(ge=0, le=3)]


class AnswerOut(BaseModel):
    session_id: int
    question_id: int
    option: int
    answered_at: datetime


class UserOutRef(BaseModel):
    id: int
    name: str


class BoardEntryOut(BaseModel):
    rank: int
    user: UserOutRef
    score: int
    correct: int
    wrong: int


class LeaderboardOut(BaseModel):
    version: int
    total: int
    items: list[BoardEntryOut]
    me: BoardEntryOut | None


class MyAnswerOut(BaseModel):
    question_id: int
    index: int
    selected_index: int | None
    correct_index: int | None  # null until the question is revealed
    marks: int | None


class ResultsOut(BaseModel):
    session: SessionOut
    standings: LeaderboardOut
    answers: list[MyAnswerOut]


class AttemptLineOut(BaseModel):
    id: int
    quiz_id: int
    title: str
    score: int
    correct: int
    wrong: int
    unanswered: int
    submitted_at: datetime


class SessionLineOut(BaseModel):
    session_id: int
    quiz_id: int
    room_id: int
    score: int
    correct: int
    wrong: int
    last_answer_at: datetime


class AccuracyOut(BaseModel):
    subject: Literal["physics", "chemistry", "biology"]
    answered: int
    correct: int
    accuracy: float | None  # correct / answered; null with nothing answered


class HistoryOut(BaseModel):
    attempts: list[AttemptLineOut]
    sessions: list[SessionLineOut]
    accuracy: list[AccuracyOut]
