"""Bodies of the rooms, members and messages resources."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.bot.events import BotAuthor, TriageInfo, UsageInfo
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
    """The same fields as the `message` event (PROTOCOL.md); the bot's answers in a bot
    conversation add `reply_to`, `triage` and `usage` (null on people's messages)."""

    id: int
    seq: int
    author: BotAuthor | UserRef = Field(description="`bot: true` on the bot's answers.")
    body: str
    client_id: str | None
    created_at: datetime
    reply_to: int | None = Field(default=None, description="Bot answers: the seq answered.")
    triage: TriageInfo | None = None
    usage: UsageInfo | None = None


class MessagePage(BaseModel):
    items: list[MessageOut]
    head: int = Field(description="The room's latest seq when the page was read.")
    has_more: bool = Field(
        description="More messages exist beyond this page in the direction asked for."
    )
