"""Bodies of the rooms, members and messages resources."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.bot.events import BotAuthor, TriageInfo, UsageInfo
from domain.care.doctors import DoctorCard
from domain.events import UserRef
from rest.schemas.fields import Seq, Storable

RoomName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), Storable
]


class RoomCreate(BaseModel):
    name: RoomName | None = Field(
        default=None, description="Required for a study group; a bot conversation has a default."
    )
    kind: Literal["study_group", "bot_conversation"] = "study_group"


class RoomUpdate(BaseModel):
    name: RoomName


class JoinIn(BaseModel):
    invite_code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=4, max_length=32), Storable
    ]


class RoomOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    name: str
    owner_id: int
    invite_code: str | None = Field(description="Only shown to the room's owner and admins.")
    head: int = Field(description="The seq of the room's latest message (0 when empty).")
    my_role: str
    last_read_seq: int
    created_at: datetime


class MemberOut(BaseModel):
    user: UserRef
    role: str
    last_read_seq: int
    joined_at: datetime


class ReadIn(BaseModel):
    seq: Seq


class ReadOut(BaseModel):
    last_read_seq: int


class MessageIn(BaseModel):
    client_id: Annotated[str, Field(min_length=1, max_length=64), Storable] | None = None
    body: Annotated[str, Field(min_length=1), Storable]


class MessageOut(BaseModel):
    """The same fields as the `message` event (PROTOCOL.md)."""

    id: int
    seq: int
    author: UserRef
    body: str
    client_id: str | None
    created_at: datetime


class BotMessageOut(MessageOut):
    """The bot's answer in a bot conversation: the `message` event's bot fields too."""

    author: BotAuthor
    reply_to: int = Field(description="The seq of the user message answered.")
    triage: TriageInfo
    usage: UsageInfo | None = None
    doctors: list[DoctorCard] | None = Field(
        default=None, description="Up to three available doctors of the recommended specialty."
    )


class MessagePage(BaseModel):
    items: list[BotMessageOut | MessageOut]
    head: int = Field(description="The room's latest seq when the page was read.")
    has_more: bool = Field(
        description="More messages exist beyond this page in the direction asked for."
    )
