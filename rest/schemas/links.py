"""Bodies of service links (docs/protocol.md §18)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from rest.schemas.accounts import DisplayName, UserOut

# An external identity: what the service calls the person (a Telegram user id).
ExternalId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
LinkCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9]{8}$")]


class LinkCodeOut(BaseModel):
    code: str
    expires_in: int


class LinkOut(BaseModel):
    service: str
    external_id: str
    linked_at: datetime


class BindIn(BaseModel):
    external_id: ExternalId
    display_name: DisplayName
    role: Literal["student", "patient"] = "student"


class LinkIn(BaseModel):
    external_id: ExternalId
    code: LinkCode


class ActAsIn(BaseModel):
    external_id: ExternalId


class LinkedUserOut(BaseModel):
    user: UserOut
    created: bool = Field(default=False, description="true when this call created the user")


class LinkedTokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    user: UserOut
