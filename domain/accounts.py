"""Accounts and sessions: register, log in, refresh (rotating), log out (revoking), and the
single-use tickets EventSource clients use instead of a header.

Revocation is a denylist keyed by the token's `jti` in PostgreSQL (`revoked_tokens`), kept
until the token would have expired anyway, so it never grows past the live revoked tokens.
Redis is not consulted: it may lose its data, and a revoked token must stay revoked
(docs/decisions/0010-where-revocation-lives.md).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from broker import Broker
from domain.errors import Conflict, Unauthorized
from domain.security import Passwords, TokenClaims, TokenCodec, TokenKind
from models import Role, User
from models.tokens import active_user_unless_revoked, claim_revocation, purge_expired
from models.users import get_user_by_email

SELF_SERVICE_ROLES = frozenset({Role.student, Role.patient})


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


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
    wrong-kind token (a refresh token cannot be used as an access token).

    Costs one PostgreSQL round trip: the user lookup with the denylist probe (a primary-key
    lookup) as a second column. `broker` is not consulted any more, so losing Redis's data
    cannot re-enable a revoked token and a Redis outage does not block authentication; the
    parameter stays for the transports' existing call sites.
    """
    del broker  # revocation lives in PostgreSQL (decision 0010)
    claims = codec.decode(token)
    if claims.kind not in kinds:
        raise Unauthorized("This kind of token cannot be used here.")
    user, revoked = await active_user_unless_revoked(session, claims.user_id, claims.jti)
    if user is None or not user.is_active:
        raise Unauthorized("The account does not exist or is disabled.")
    if revoked:
        raise Unauthorized("The token has been revoked.")
    return user, claims


async def revoke(session: AsyncSession, claims: TokenClaims) -> bool:
    """Deny the token from now on, durably (committed in PostgreSQL before returning).

    True for the one caller that revoked it first, False for every other (and for a token
    that has already expired, which needs no row). Also purges a bounded batch of rows
    whose tokens have expired, so the denylist is kept small without a scheduled job.
    """
    if claims.expires_at <= datetime.now(UTC):
        return False
    claimed = await claim_revocation(session, claims.jti, claims.user_id, claims.expires_at)
    await purge_expired(session)
    await session.commit()
    return claimed


async def refresh(
    session: AsyncSession, broker: Broker, codec: TokenCodec, refresh_token: str, minutes: int
) -> TokenPair:
    """Exchange a refresh token for a new pair; the used refresh token is revoked.

    The revocation is an atomic claim in PostgreSQL (INSERT ... ON CONFLICT DO NOTHING
    RETURNING), committed before the new pair is issued: of two concurrent uses of one
    refresh token (a stolen copy replayed beside the real one) exactly one gets a pair,
    and a used refresh token is refused for good, whatever happens to Redis.
    """
    user, claims = await resolve(
        session, broker, codec, refresh_token, frozenset({TokenKind.refresh})
    )
    if not await revoke(session, claims):
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
