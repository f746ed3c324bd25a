"""Where the client's access tokens come from, and when to renew them.

A token source answers two questions: "what token do I connect with?" (`token`) and "give
me a new one" (`refresh`: before expiry, for the in-band `refresh` frame, and after the
server closed with 4001). `StaticToken` serves a long-lived service token (bridges);
`RestTokens` logs in and rotates refresh tokens through the REST API.

Expiry is read from the JWT's payload without verifying the signature: the client cannot
verify it (it has no key) and does not need to; it only uses `exp`/`iat` to schedule.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import httpx

from client.errors import AuthenticationFailed

log = logging.getLogger("parley.client")


@runtime_checkable
class TokenSource(Protocol):
    async def token(self) -> str:
        """The current access token (fetching one if there is none yet)."""
        ...

    async def refresh(self) -> str:
        """A new access token. Raises `AuthenticationFailed` when that is impossible for
        good; any other exception is taken as transient and retried with backoff."""
        ...


@dataclass(frozen=True)
class TokenTimes:
    issued_at: float | None
    expires_at: float


def token_times(token: str) -> TokenTimes | None:
    """`iat`/`exp` of a JWT (seconds since the epoch), unverified; None if unreadable."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    if not isinstance(claims, dict):
        return None
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float):
        return None
    return TokenTimes(float(iat) if isinstance(iat, int | float) else None, float(exp))


def refresh_delay(token: str, refresh_at: float, now: float | None = None) -> float | None:
    """Seconds from now until `token` should be renewed, or None if it never expires.

    Renewal is due once `refresh_at` (0..1) of the token's lifetime has passed: with the
    default 0.8 a 30-minute token is renewed after 24 minutes, leaving 6 to get it done.
    Without `iat` the lifetime is unknown and renewal is due one minute before expiry.
    """
    times = token_times(token)
    if times is None:
        return None
    now = time.time() if now is None else now
    if times.issued_at is not None and times.expires_at > times.issued_at:
        due = times.issued_at + (times.expires_at - times.issued_at) * refresh_at
    else:
        due = times.expires_at - 60
    return max(0.0, due - now)


class StaticToken:
    """One token that is never renewed (a service token from `parley token`)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self) -> str:
        return self._token

    async def refresh(self) -> str:
        return self._token


class RestTokens:
    """Access tokens from `/api/v1/auth/token` (password) and `/auth/refresh` (rotation).

    Each refresh token is used once (the server revokes it on use), so refreshes are
    serialized: concurrent callers share one rotation. When the refresh token is refused
    and a password is known, the source logs in again; otherwise `AuthenticationFailed`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        access_token: str | None = None,
        refresh_token: str | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._owns_http = http is None
        # Absolute URLs, so a shared `http` client may have any (or no) base_url.
        self._prefix = f"{base_url.rstrip('/')}/api/v1/auth"
        self._username = username
        self._password = password
        self._access = access_token
        self._refresh = refresh_token
        self._lock = asyncio.Lock()
        self._generation = 0

    async def token(self) -> str:
        if self._access is not None:
            times = token_times(self._access)
            if times is None or times.expires_at > time.time() + 5:
                return self._access
        return await self.refresh()

    async def refresh(self) -> str:
        seen = self._generation
        async with self._lock:
            if self._generation != seen and self._access is not None:
                return self._access  # another caller rotated while this one waited
            if self._refresh is not None:
                r = await self._http.post(
                    f"{self._prefix}/refresh", json={"refresh_token": self._refresh}
                )
                if r.status_code == 200:
                    return self._store(r)
                if r.status_code != 401:
                    r.raise_for_status()
                log.info("refresh token refused; logging in again if possible")
                self._refresh = None
            if self._username is None or self._password is None:
                raise AuthenticationFailed("no usable refresh token and no password to log in")
            r = await self._http.post(
                f"{self._prefix}/token",
                data={"username": self._username, "password": self._password},
            )
            if r.status_code == 401:
                raise AuthenticationFailed("the username or password was refused")
            r.raise_for_status()
            return self._store(r)

    def _store(self, response: httpx.Response) -> str:
        body = response.json()
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not isinstance(access, str) or not isinstance(refresh, str):
            raise AuthenticationFailed("the token response has no token pair")
        self._access, self._refresh = access, refresh
        self._generation += 1
        return access

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()
