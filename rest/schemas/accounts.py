"""Bodies of the auth and user resources."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class RegisterIn(BaseModel):
    email: EmailStr
    password: Annotated[str, Field(min_length=8, max_length=128)]
    display_name: DisplayName
    role: Literal["student", "patient"] = "student"


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    role: str
    created_at: datetime


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class RefreshIn(BaseModel):
    refresh_token: Annotated[str, Field(min_length=1, max_length=4096)]


class LogoutIn(BaseModel):
    refresh_token: Annotated[str | None, Field(default=None, max_length=4096)] = None


class TicketOut(BaseModel):
    ticket: str
    expires_in: int
