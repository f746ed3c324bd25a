"""/api/v1/auth: register, token (OAuth2 password), refresh, logout, SSE tickets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, status

from domain import accounts, revocations
from domain.errors import Unauthorized
from domain.security import TokenKind
from edge.errors import error_responses
from edge.services import ServicesDep
from models import Role
from rest.deps import Auth, AuthFirstRoute, SessionDep
from rest.schemas.accounts import (
    LoginForm,
    LogoutIn,
    RefreshIn,
    RegisterIn,
    TicketOut,
    TokenOut,
    UserOut,
)

router = APIRouter(prefix="/auth", tags=["auth"], route_class=AuthFirstRoute)


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=error_responses(400, 409),
)
async def register(body: RegisterIn, session: SessionDep, services: ServicesDep) -> UserOut:
    user = await accounts.register(
        session, services.passwords, body.email, body.password, body.display_name, Role(body.role)
    )
    return UserOut.model_validate(user)


@router.post("/token", response_model=TokenOut, responses=error_responses(400, 401))
async def token(
    form: Annotated[LoginForm, Form()],
    session: SessionDep,
    services: ServicesDep,
) -> TokenOut:
    user = await accounts.login(session, services.passwords, form.username, form.password)
    pair = accounts.issue_pair(services.tokens, user, services.settings.access_token_minutes)
    return TokenOut(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post("/refresh", response_model=TokenOut, responses=error_responses(400, 401))
async def refresh(body: RefreshIn, session: SessionDep, services: ServicesDep) -> TokenOut:
    pair = await accounts.refresh(
        session,
        services.broker,
        services.tokens,
        body.refresh_token,
        services.settings.access_token_minutes,
    )
    return TokenOut(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(400, 401))
async def logout(
    auth: Auth, services: ServicesDep, session: SessionDep, body: LogoutIn | None = None
) -> None:
    """Revoke the access token used for this call (and the refresh token, if given).

    The access token's open WebSocket connections (4001) and SSE streams end on every
    worker; other tokens of the same user are untouched.
    """
    claims = auth[1]
    await accounts.revoke(session, claims)
    # Announced even if this call was not the first to revoke it: repeating is harmless
    # and heals an announcement that was lost.
    await revocations.token_revoked(services.broker, claims.jti, claims.user_id, claims.expires_at)
    if body is not None and body.refresh_token:
        try:
            _, claims = await accounts.resolve(
                session,
                services.broker,
                services.tokens,
                body.refresh_token,
                frozenset({TokenKind.refresh}),
            )
        except Unauthorized:
            return
        await accounts.revoke(session, claims)


@router.post(
    "/ticket",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketOut,
    responses=error_responses(401),
)
async def ticket(auth: Auth, services: ServicesDep) -> TicketOut:
    """A single-use ticket for EventSource (`?ticket=`), valid for at most 60 s."""
    ttl = services.settings.sse_ticket_seconds
    value = await accounts.issue_ticket(services.broker, auth[0].id, ttl)
    return TicketOut(ticket=value, expires_in=ttl)
