"""Accounts and sessions: register, log in, refresh (rotating), log out (revoking), and the
single-use tickets EventSource clients use instead of a header.

Revocation is a Redis denylist keyed by the token's `jti`, kept until the token would have
expired anyway, so the list never grows past the live tokens.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.security import Passwords, TokenClaims, TokenCodec, TokenKind
from broker import Broker
from domain.errors import Conflict, Unauthorized

__all__ = ["TokenKind", "Unauthorized"]
from models import Role, User
from models.users import get_user_by_email

SELF_SERVICE_ROLES = frozenset({Role.student, Role.patient})


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def _revoked_key(jti: str) -> str:
    return f"revoked:{jti}"


async def register(
    session: AsyncSession,
    passwords: Passwords,
    email: str,
    password: str,
    display_name: str,
    role: Role,
) -> User:
    if await get_user_by_email(session, email) is not None:
        raise Conflict("An account with this email already exists.")
    user = User(
        email=email.strip(),
        display_name=display_name.strip(),
        role=role,
        password_hash=await passwords.hash(password),
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:  # a concurrent registration with the same email
        await session.rollback()
        raise Conflict("An account with this email already exists.") from exc
    return user


async def login(session: AsyncSession, passwords: Passwords, email: str, password: str) -> User:
    user = await get_user_by_email(session, email)
    valid = await passwords.verify(password, user.password_hash if user else None)
    if not valid or user is None:
        raise Unauthorized("Incorrect email or password.")
    if not user.is_active:
        raise Unauthorized("This account is disabled.")
    return user


def issue_pair(codec: TokenCodec, user: User, access_minutes: int) -> TokenPair:
    return TokenPair(
        access_token=codec.issue(user.id, user.role.value, TokenKind.access),
        refresh_token=codec.issue(user.id, user.role.value, TokenKind.refresh),
        expires_in=access_minutes * 60,
    )


async def resolve(
    session: AsyncSession,
    broker: Broker,
    codec: TokenCodec,
    token: str,
    kinds: frozenset[TokenKind] = frozenset({TokenKind.access, TokenKind.service}),
) -> tuple[User, TokenClaims]:
    """The active user a token names. Raises Unauthorized for any bad, revoked or
    wrong-kind token (a refresh token cannot be used as an access token)."""
    claims = codec.decode(token)
    if claims.kind not in kinds:
        raise Unauthorized("This kind of token cannot be used here.")
    if await broker.has_key(_revoked_key(claims.jti)):
        raise Unauthorized("The token has been revoked.")
    user = await session.get(User, claims.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("The account does not exist or is disabled.")
    return user, claims


async def revoke(broker: Broker, claims: TokenClaims) -> bool:
    """Deny the token from now on. True for the one caller that revoked it first."""
    ttl = (claims.expires_at - datetime.now(UTC)).total_seconds()
    if ttl <= 0:
        return False
    return await broker.claim_key(_revoked_key(claims.jti), "1", ttl + 1)


async def refresh(
    session: AsyncSession, broker: Broker, codec: TokenCodec, refresh_token: str, minutes: int
) -> TokenPair:
    """Exchange a refresh token for a new pair; the used refresh token is revoked.

    Claiming the revocation is atomic, so two concurrent uses of one refresh token (a
    stolen copy replayed beside the real one) yield one new pair, not two.
    """
    user, claims = await resolve(
        session, broker, codec, refresh_token, frozenset({TokenKind.refresh})
    )
    if not await revoke(broker, claims):
        raise Unauthorized("The token has been revoked.")
    return issue_pair(codec, user, minutes)


async def issue_ticket(broker: Broker, user_id: int, ttl: int) -> str:
    ticket = secrets.token_urlsafe(24)
    await broker.set_key(f"ticket:{ticket}", str(user_id), ttl)
    return ticket


async def redeem_ticket(session: AsyncSession, broker: Broker, ticket: str) -> User:
    """A ticket works once, within its lifetime."""
    user_id = await broker.take_key(f"ticket:{ticket}")
    user = await session.get(User, int(user_id)) if user_id else None
    if user is None or not user.is_active:
        raise Unauthorized("The ticket is invalid, expired or already used.")
    return user


async def service_account(session: AsyncSession, name: str) -> User:
    """The service user for a bridge (created on first use)."""
    email = f"{name}@service.parley.invalid"
    user = (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()
    if user is None:
        user = User(email=email, display_name=name.capitalize(), role=Role.service)
        session.add(user)
        await session.commit()
    return user
