"""Password hashing (argon2 via pwdlib) and JWTs (python-jose, algorithm pinned).

These are primitives of the domain (accounts issue, resolve and revoke tokens; register and
log in hash passwords), so they live here and take plain values: a secret, an algorithm,
lifetimes, cost parameters. The composition root builds them from its settings
(app/security.py); nothing here reads configuration.

Token kinds: `access` (short), `refresh` (long, only exchanges for a new pair), `service`
(bridges; long-lived, revocable). Every token has `sub`, `role`, `jti`, `exp`, `iat`, `typ`.
Decoding pins the algorithm list to the configured HMAC algorithm, so `alg: none` and
algorithm-confusion tokens are rejected, and requires `exp` (python-jose would otherwise
accept a token without one). It also bounds every claim the code later hands to
PostgreSQL (`sub` to a positive int4 user id, `jti` to a short string): a correctly signed
token with an out-of-range value is refused here as unauthorized, never reaching a query
where it would fail as a server error.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from jose import JWTError, jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from domain.errors import Unauthorized

# `users.id` is a PostgreSQL `integer`: a subject is its canonical decimal form, 1..2**31-1.
# ASCII digits only: int() would also take " 7", "+7", "0_7" or other scripts' digits.
_SUBJECT = re.compile(r"[1-9][0-9]{0,9}")
MAX_USER_ID = 2**31 - 1
# `revoked_tokens.jti` is varchar(64); issued ids are 32 hex characters.
MAX_JTI_LENGTH = 64
# HMAC only: the secret is shared by every worker; "none" and asymmetric algorithms (whose
# confusion with HMAC is a classic forgery) are refused when the codec is built.
ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})


class TokenKind(StrEnum):
    access = "access"
    refresh = "refresh"
    service = "service"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    role: str
    jti: str
    kind: TokenKind
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TokenLifetimes:
    """How long each kind of token lives from the moment it is issued."""

    access: timedelta
    refresh: timedelta
    service: timedelta


class Passwords:
    """Argon2id hashing, run in a worker thread: a hash takes tens of milliseconds of CPU
    and must never block the event loop that serves every socket of this worker.

    Cost parameters are plain values (OWASP's minimum by default: t=2, m=19 MiB, p=1). A stored
    hash carries its own parameters, so changing them never invalidates existing passwords.
    """

    def __init__(self, time_cost: int = 2, memory_kib: int = 19456) -> None:
        self._hash = PasswordHash(
            (Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1),)
        )
        # Verifying against this keeps login timing the same whether or not the email exists.
        self._dummy = self._hash.hash("parley-timing-equalizer")

    def hash_sync(self, password: str) -> str:
        return self._hash.hash(password)

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hash.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        if password_hash is None:
            await asyncio.to_thread(self._hash.verify, password, self._dummy)
            return False
        return await asyncio.to_thread(self._hash.verify, password, password_hash)


class TokenCodec:
    """Issues and verifies Parley's JWTs with one pinned algorithm.

    Raises ValueError at construction for an algorithm outside `ALGORITHMS` or an empty
    secret, so a misconfiguration fails at start-up, not on the first login.
    """

    def __init__(self, secret: str, algorithm: str, lifetimes: TokenLifetimes) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"JWT algorithm must be one of {sorted(ALGORITHMS)}")
        if not secret:
            raise ValueError("the JWT secret must not be empty")
        self._secret = secret
        self._algorithm = algorithm
        self._ttl = {
            TokenKind.access: lifetimes.access,
            TokenKind.refresh: lifetimes.refresh,
            TokenKind.service: lifetimes.service,
        }

    def issue(
        self, user_id: int, role: str, kind: TokenKind, *, ttl: timedelta | None = None
    ) -> str:
        now = datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "role": role,
            "typ": kind.value,
            "jti": uuid.uuid4().hex,
            "iat": int(now.timestamp()),
            "exp": int((now + (ttl if ttl is not None else self._ttl[kind])).timestamp()),
        }
        return str(jwt.encode(claims, self._secret, algorithm=self._algorithm))

    def decode(self, token: str) -> TokenClaims:
        """Verify signature, algorithm, expiry and the shape of every claim.

        Raises Unauthorized (never anything else, never saying why) for any token that is
        not one this codec could have issued: besides a bad signature or expiry, a `sub`
        that is not a user id in 1..2**31-1, a `jti` that is empty or too long, an
        unknown `typ`, or an `exp` beyond what a datetime can hold.
        """
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                options={
                    "require_exp": True,
                    "require_sub": True,
                    "require_jti": True,
                    "require_iat": True,
                },
            )
            kind = TokenKind(payload["typ"])
            return TokenClaims(
                user_id=_user_id(payload["sub"]),
                role=str(payload["role"]),
                jti=_jti(payload["jti"]),
                kind=kind,
                expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
            )
        except (JWTError, KeyError, ValueError, TypeError, OverflowError, OSError) as exc:
            # OverflowError/OSError: an `exp` past what the platform's time_t can hold.
            raise Unauthorized("The token is invalid or expired.") from exc


def _user_id(sub: object) -> int:
    if not isinstance(sub, str) or _SUBJECT.fullmatch(sub) is None:
        raise ValueError("sub is not a user id")
    user_id = int(sub)
    if user_id > MAX_USER_ID:
        raise ValueError("sub is out of range")
    return user_id


def _jti(jti: object) -> str:
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise ValueError("jti is not a token id")
    return jti
