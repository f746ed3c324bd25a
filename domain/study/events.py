"""Events of `quiz:{session_id}` and `leaderboard:{room_id}` (PROTOCOL.md v1.1).

`question`, `reveal` and `ended` carry no position: they are delivered to every subscriber
as they are published (never filtered as stale). `board` is a latest-state snapshot with a
growing `version` (the hub drops stale ones per subscriber). `rank` is personal (published
with `to=user_id`) and carries the version of the board it belongs to in its body only, so
it never competes with boards in the hub's version filter.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, field_serializer

from domain.events import Position, UserRef


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class _StudyEvent(BaseModel):
    model_config = ConfigDict(frozen=True)
    position: ClassVar[Position | None] = None

    channel: str


class LiveQuestion(BaseModel):
    """A question as members see it while it is open: no answer key."""

    model_config = ConfigDict(frozen=True)

    id: int
    text: str
    options: list[str]


class QuestionEvent(_StudyEvent):
    type: Literal["question"] = "question"
    index: int
    count: int
    deadline: datetime
    question: LiveQuestion

    @field_serializer("deadline")
    def _deadline(self, value: datetime) -> str:
        return _iso(value)


class RevealEvent(_StudyEvent):
    type: Literal["reveal"] = "reveal"
    index: int
    question_id: int
    correct_index: int
    explanation: str


class EndedEvent(_StudyEvent):
    type: Literal["ended"] = "ended"


class BoardEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    rank: int
    user: UserRef
    score: int
    correct: int
    wrong: int


class BoardEvent(_StudyEvent):
    position: ClassVar[Position | None] = "version"
    type: Literal["board"] = "board"
    version: int
    total: int
    top: list[BoardEntry]


class RankEvent(_StudyEvent):
    type: Literal["rank"] = "rank"
    version: int
    rank: int
    score: int


def rank_frame(channel: str, version: int, rank: int, score: int) -> str:
    """`RankEvent(...).model_dump_json()`, byte for byte, without building the model: a
    snapshot sends up to one per member (1,000 models cost ~2 CPU-ms per window per board,
    this ~0.2). tests/study/test_leaderboards.py holds it equal to the model's."""
    return (
        f'{{"channel":{json.dumps(channel)},"type":"rank","version":{version},'
        f'"rank":{rank},"score":{score}}}'
    )


StudyEvent = QuestionEvent | RevealEvent | EndedEvent | BoardEvent | RankEvent
