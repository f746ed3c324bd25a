"""Service links: a bridge (a service account) acts only for the users linked to it.

The mechanism (docs/protocol.md §18, decision 0021): a bridge holds one service token. It
can create a user bound to an external identity, or link an existing user who gave it a
one-time code, and it exchanges its service token for a short-lived ordinary access token
of a linked user. Everything it then does, it does as that user, through the ordinary
endpoints and checks. Nothing else lets a service token act as a person, so "only for
linked users" is enforced where the token is issued.

Unlinking revokes at once: every live token issued through the link is put on the
durable denylist (revoked_tokens) in the same transaction that deletes the link, and,
after the commit, announced on the control channel so every worker closes the sockets
and SSE streams using them (4001), exactly as a logout does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from broker import Broker
from domain import revocations
from domain.errors import Conflict, Forbidden, NotFound
from domain.security import TokenClaims, TokenCodec, TokenKind
from models import Role, User
from models.links import (
    LinkToken,
    ServiceLink,
    link_of,
    links_of_user,
    live_tokens,
    purge_expired_link_tokens,
)
from models.tokens import claim_revocation

SERVICE_DOMAIN = "service.parley.invalid"
# Unambiguous to read aloud and type on a phone: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


@dataclass(frozen=True, slots=True)
class LinkedToken:
    access_token: str
    expires_in: int
    user: User


def service_name(service: User) -> str:
    return service.email.split("@", 1)[0]


def require_service(user: User, claims: TokenClaims) -> User:
    """The caller as a service account; Forbidden for anyone else (people, user tokens)."""
    if claims.kind is not TokenKind.service or user.role is not Role.service:
        raise Forbidden("Only a service token may call this endpoint.")
    return user


async def issue_code(broker: Broker, user_id: int, ttl: int) -> str:
    """A one-time code the user gives a bridge (`/link CODE`) to link their account."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    await broker.set_key(f"linkcode:{code}", str(user_id), ttl)
    return code


async def bind_new_user(
    session: AsyncSession, service: User, external_id: str, display_name: str, role: Role
) -> tuple[User, bool]:
    """The user linked to `external_id`, created and linked if there is none yet.
    (user, created). Idempotent, so a bridge may repeat it after a lost answer."""
    link = await link_of(session, service.id, external_id)
    if link is not None:
        return await _linked_user(session, link), False
    user = User(
        email=f"{external_id}@{service_name(service)}.users.parley.invalid",
        display_name=display_name,
        role=role,
    )
    session.add(user)
    try:
        await session.flush()
        session.add(ServiceLink(service_id=service.id, user_id=user.id, external_id=external_id))
        await session.commit()
    except IntegrityError:  # a concurrent bind of the same identity won
        await session.rollback()
        link = await link_of(session, service.id, external_id)
        if link is None:
            raise
        return await _linked_user(session, link), False
    return user, True


async def link_with_code(
    session: AsyncSession, broker: Broker, service: User, external_id: str, code: str
) -> User:
    """Link the user who issued `code` to `external_id`. The code works once.

    NotFound for an unknown, used or expired code; Conflict if this external identity or
    this user is already linked to the service (unlink first).
    """
    user_id = await broker.take_key(f"linkcode:{code.strip().upper()}")
    user = await session.get(User, int(user_id)) if user_id else None
    if user is None or not user.is_active or user.role is Role.service:
        raise NotFound("The link code is unknown, expired or already used.")
    if await link_of(session, service.id, external_id) is not None:
        raise Conflict("This account is already linked; unlink it first.")
    session.add(ServiceLink(service_id=service.id, user_id=user.id, external_id=external_id))
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict("This Parley user is already linked to this service.") from exc
    return user


async def issue_user_token(
    session: AsyncSession, codec: TokenCodec, service: User, external_id: str, minutes: int
) -> LinkedToken:
    """A short-lived access token of the user linked to `external_id`.

    Forbidden when there is no such link: the service acts for linked users only. The
    token's id is recorded with the link (committed before it is returned) so unlinking
    can revoke it.
    """
    link = await link_of(session, service.id, external_id)
    if link is None:
        raise Forbidden("This identity is not linked to the service.")
    user = await _linked_user(session, link)
    if not user.is_active:
        raise Forbidden("The linked account is disabled.")
    token = codec.issue(user.id, user.role.value, TokenKind.access, ttl=timedelta(minutes=minutes))
    claims = codec.decode(token)
    await purge_expired_link_tokens(session, link.id)
    session.add(LinkToken(jti=claims.jti, link_id=link.id, expires_at=claims.expires_at))
    await session.commit()
    return LinkedToken(access_token=token, expires_in=minutes * 60, user=user)


async def unlink_external(
    session: AsyncSession, broker: Broker, service: User, external_id: str
) -> None:
    """The service drops a link (`/unlink` in the bridge). NotFound if there is none."""
    link = await link_of(session, service.id, external_id)
    if link is None:
        raise NotFound("This identity is not linked to the service.")
    await _unlink(session, broker, link)


async def unlink_user(session: AsyncSession, broker: Broker, user: User, service: str) -> None:
    """The user drops their link to `service`. NotFound if there is none."""
    for link in await links_of_user(session, user.id):
        owner = await session.get(User, link.service_id)
        if owner is not None and service_name(owner) == service:
            await _unlink(session, broker, link)
            return
    raise NotFound("You are not linked to this service.")


async def user_links(session: AsyncSession, user: User) -> list[tuple[str, ServiceLink]]:
    """(service name, link) of each link the user has."""
    found = []
    for link in await links_of_user(session, user.id):
        owner = await session.get(User, link.service_id)
        if owner is not None:
            found.append((service_name(owner), link))
    return found


async def _unlink(session: AsyncSession, broker: Broker, link: ServiceLink) -> None:
    tokens = await live_tokens(session, link.id)
    for token in tokens:
        await claim_revocation(session, token.jti, link.user_id, token.expires_at)
    await session.delete(link)
    await session.commit()
    # After the commit (a worker re-checking storage sees the revocation): end every
    # socket and stream opened with those tokens, on every worker.
    for token in tokens:
        await revocations.token_revoked(broker, token.jti, link.user_id, token.expires_at)


async def _linked_user(session: AsyncSession, link: ServiceLink) -> User:
    user = await session.get(User, link.user_id)
    if user is None:  # the FK cascades, so only a concurrent deletion gets here
        raise NotFound("The linked account no longer exists.")
    return user
