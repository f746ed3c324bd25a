"""Bodies of the auth and user resources."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from domain.limits import MAX_TOKEN_CHARS
from rest.schemas.fields import Storable, storable_text

DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80), Storable
]
Email = Annotated[EmailStr, AfterValidator(storable_text)]
Password = Annotated[str, Field(min_length=8, max_length=128), Storable]
Token = Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_CHARS), Storable]


class RegisterIn(BaseModel):
    email: Email
    password: Password
    display_name: DisplayName
    role: Literal["student", "patient"] = "student"


class LoginForm(BaseModel):
    """The OAuth2 password grant's form (`application/x-www-form-urlencoded`).

    OAuth2PasswordRequestForm's fields, as storable text: a NUL in `username` must be
    422 `invalid`, not a 500 from the user lookup.
    """

    username: Annotated[str, Field(min_length=1, max_length=254), Storable]
    password: Annotated[str, Field(min_length=1, max_length=128), Storable]
    grant_type: Annotated[str, Field(pattern="^password$"), Storable] | None = None
    scope: Annotated[str, Field(max_length=1000), Storable] = ""
    client_id: Annotated[str, Field(max_length=200), Storable] | None = None
    client_secret: Annotated[str, Field(max_length=200), Storable] | None = None


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
    refresh_token: Token


class LogoutIn(BaseModel):
    refresh_token: Token | None = None


class TicketOut(BaseModel):
    ticket: str
    expires_in: int
