"""FastAPI dependencies as `Annotated` aliases (SessionDep, CurrentUser, ...)
and the route class that authenticates before anything else.

FastAPI parses and validates the body, then solves dependencies with the path and query
parameters, and only then runs the endpoint: an authentication dependency alone would let
an anonymous caller learn 400/422 (how its request would have been validated) instead of
401. `AuthFirstRoute` closes that: a route whose dependencies include `get_auth` resolves
the bearer token before its request is parsed, and `get_auth` then reads the result.

A write route that admission control guards (`dependencies=[Admitted]`, domain/admission.py)
is checked before even that: an overloaded worker answers 503 `unavailable` with
`Retry-After` without spending a database round trip on the token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.ext.asyncio import AsyncSession

from domain import accounts
from domain.errors import Unauthorized
from domain.limits import MAX_TOKEN_CHARS
from domain.security import TokenClaims
from edge.services import ServicesDep, services_of
from models import User

# Declares the scheme in OpenAPI (the docs' Authorize button); AuthFirstRoute reads the header.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    async with services.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
BearerToken = Annotated[str | None, Depends(oauth2_scheme)]


async def authenticate(request: Request) -> tuple[User, TokenClaims]:
    """The caller of `request`, from its `Authorization: Bearer` header; else Unauthorized."""
    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthorized(f"A bearer token is limited to {MAX_TOKEN_CHARS} characters.")
    services = services_of(request)
    # A session of its own, closed at once: the route opens its own sessions, and holding
    # two connections per request deadlocks the pool under load.
    async with services.sessions() as session:
        return await accounts.resolve(session, services.broker, services.tokens, token)


_AUTH_STATE = "parley_auth"


async def get_auth(request: Request, _: BearerToken) -> tuple[User, TokenClaims]:
    resolved: tuple[User, TokenClaims] | None = getattr(request.state, _AUTH_STATE, None)
    if resolved is None:  # a route not built by AuthFirstRoute
        resolved = await authenticate(request)
    return resolved


Auth = Annotated[tuple[User, TokenClaims], Depends(get_auth)]


async def get_current_user(auth: Auth) -> User:
    return auth[0]


CurrentUser = Annotated[User, Depends(get_current_user)]


async def admit_write(request: Request) -> None:
    """Refuse a new write at once (`Overloaded`, 503) while this worker is overloaded."""
    admission = services_of(request).admission
    if admission is not None:
        admission.check("rest")


# On a route's `dependencies=[...]`: AuthFirstRoute checks it before authenticating.
Admitted = Depends(admit_write)


def _needs(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _needs(d, call) for d in dependant.dependencies)


def _needs_auth(dependant: Dependant) -> bool:
    return _needs(dependant, get_auth)


class AuthFirstRoute(APIRoute):
    """An APIRoute that, when it depends on `get_auth`, authenticates before parsing."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not _needs_auth(self.dependant):
            return handler
        admitted = _needs(self.dependant, admit_write)

        async def authenticate_then_handle(request: Request) -> Response:
            if admitted:
                await admit_write(request)
            setattr(request.state, _AUTH_STATE, await authenticate(request))
            return await handler(request)

        return authenticate_then_handle
