"""Bodies of the quizzes, questions and attempts resources."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from models import Difficulty, Subject
from rest.schemas.fields import RowId, Storable

Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Storable
]
Topic = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), Storable
]
Prompt = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), Storable
]
Option = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), Storable
]
Explanation = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), Storable]
OptionIndex = Annotated[int, Field(ge=0, le=3)]


def _distinct(options: list[str]) -> list[str]:
    if len({o.casefold() for o in options}) != len(options):
        raise ValueError("the four options must be different from each other")
    return options


Options = Annotated[
    list[Option],
    Field(min_length=4, max_length=4, description="Exactly four distinct, non-empty options."),
    AfterValidator(_distinct),
]


class _Patch(BaseModel):
    """A partial update: a field may be left out, but not sent as null; at least one field."""

    @model_validator(mode="after")
    def _no_nulls(self) -> _Patch:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        nulls = sorted(f for f in self.model_fields_set if getattr(self, f) is None)
        if nulls:
            raise ValueError(f"may be left out but not null: {', '.join(nulls)}")
        return self


class QuestionIn(BaseModel):
    subject: Subject
    topic: Topic
    difficulty: Difficulty
    prompt: Prompt
    options: Options
    correct_index: OptionIndex = Field(description="Index of the correct option, 0 to 3.")
    explanation: Explanation = ""


class QuestionPatchIn(_Patch):
    subject: Subject | None = None
    topic: Topic | None = None
    difficulty: Difficulty | None = None
    prompt: Prompt | None = None
    options: Options | None = None
    correct_index: OptionIndex | None = None
    explanation: Explanation | None = None


class QuizCreate(BaseModel):
    title: Title
    subject: Subject
    questions: Annotated[list[QuestionIn], Field(max_length=200)] = []


class QuizPatchIn(_Patch):
    title: Title | None = None
    subject: Subject | None = None


class QuestionOut(BaseModel):
    id: int
    quiz_id: int
    position: int
    subject: Subject
    topic: str
    difficulty: Difficulty
    prompt: str
    options: list[str]
    correct_index: int | None = Field(
        description="Only shown to the room's owner and admins (members see it in their "
        "attempt results)."
    )
    explanation: str | None = Field(description="Only shown to the room's owner and admins.")


class QuizSummaryOut(BaseModel):
    id: int
    room_id: int
    title: str
    subject: Subject
    created_by: int
    created_at: datetime
    question_count: int


class QuizOut(QuizSummaryOut):
    questions: list[QuestionOut] = Field(description="In order of position.")


class AnswerIn(BaseModel):
    question_id: RowId
    selected_index: OptionIndex | None = Field(
        default=None, description="The chosen option; null (or leaving it out) is unanswered."
    )


class AttemptIn(BaseModel):
    answers: Annotated[list[AnswerIn], Field(max_length=200)] = Field(
        description="At most one per question; questions left out count as unanswered."
    )


class AnswerOut(BaseModel):
    question_id: int
    selected_index: int | None
    correct_index: int
    is_correct: bool | None = Field(description="null when unanswered.")
    marks: int = Field(description="+4 correct, -1 wrong, 0 unanswered (NEET marking).")
    explanation: str


class AttemptOut(BaseModel):
    id: int
    quiz_id: int
    user_id: int
    score: int
    max_score: int = Field(description="4 x the number of questions the attempt covered.")
    correct: int
    wrong: int
    unanswered: int
    submitted_at: datetime
    answers: list[AnswerOut] = Field(description="In the quiz's question order.")
