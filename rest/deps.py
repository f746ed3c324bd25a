"""FastAPI dependencies as `Annotated` aliases: ServicesDep, SessionDep, CurrentUser, ..."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.security import TokenClaims
from app.services import Services
from domain import accounts
from domain.errors import Unauthorized
from models import User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    async with services.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
BearerToken = Annotated[str | None, Depends(oauth2_scheme)]


async def get_auth(
    services: ServicesDep, session: SessionDep, token: BearerToken
) -> tuple[User, TokenClaims]:
    if not token:
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
    resolved = await accounts.resolve(session, services.broker, services.tokens, token)
    # Give the connection back to the pool now: the route may open its own sessions
    # (post_message does), and holding two connections per request deadlocks under load.
    await session.close()
    return resolved


Auth = Annotated[tuple[User, TokenClaims], Depends(get_auth)]


async def get_current_user(auth: Auth) -> User:
    return auth[0]


CurrentUser = Annotated[User, Depends(get_current_user)]
