"""A bridge's side of service accounts (docs/protocol.md §18): `ServiceApi` calls the
`/api/v1/service` endpoints with the bridge's service token, and `LinkedUserTokens` is the
token source that lets a `ParleyClient` act as one linked user.

The bridge never holds a person's password or refresh token: it exchanges its service
token for a short-lived access token of a linked user whenever it needs one. When the
link is gone the exchange answers 403, which `LinkedUserTokens` turns into
`AuthenticationFailed`, so a client acting for an unlinked user stops for good.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from pydantic import BaseModel

from client.errors import AuthenticationFailed, ProtocolError
from client.tokens import token_times


class ServiceUser(BaseModel):
    id: int
    display_name: str


def _raise_for(response: httpx.Response) -> None:
    """A refusal as `ProtocolError` (the REST error schema), a transport failure as is."""
    if response.is_success:
        return
    try:
        error = response.json()["error"]
        code, message, details = error["code"], error["message"], error.get("details")
    except (ValueError, KeyError, TypeError):
        response.raise_for_status()
        raise
    raise ProtocolError(code, message, details)


class ServiceApi:
    """The `/api/v1/service` endpoints. Every refusal raises `ProtocolError`."""

    def __init__(
        self, base_url: str, service_token: str, *, http: httpx.AsyncClient | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {service_token}"}
        self._http = http or httpx.AsyncClient(timeout=15)
        self._owns_http = http is None

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        r = await self._http.request(
            method, f"{self.base_url}/api/v1{path}", json=body, headers=self._headers
        )
        _raise_for(r)
        return r.json() if r.content else None

    async def bind_user(
        self, external_id: str, display_name: str, role: str = "student"
    ) -> tuple[ServiceUser, bool]:
        """The user bound to `external_id`, created if new: (user, created)."""
        body = {"external_id": external_id, "display_name": display_name, "role": role}
        answer = await self._call("POST", "/service/users", body)
        return ServiceUser.model_validate(answer["user"]), bool(answer["created"])

    async def link(self, external_id: str, code: str) -> ServiceUser:
        answer = await self._call(
            "POST", "/service/links", {"external_id": external_id, "code": code}
        )
        return ServiceUser.model_validate(answer)

    async def unlink(self, external_id: str) -> None:
        await self._call("DELETE", f"/service/links/{external_id}")

    async def user_token(self, external_id: str) -> str:
        """A short-lived access token of the linked user; `ProtocolError` forbidden if the
        identity is not (or no longer) linked."""
        answer = await self._call("POST", "/service/tokens", {"external_id": external_id})
        token: str = answer["access_token"]
        return token

    async def as_user(
        self, external_id: str, method: str, path: str, body: dict[str, Any] | None = None
    ) -> Any:
        """One REST call (`path` under /api/v1) as the linked user."""
        token = await self.user_token(external_id)
        r = await self._http.request(
            method,
            f"{self.base_url}/api/v1{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        _raise_for(r)
        return r.json() if r.content else None

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()


class LinkedUserTokens:
    """A `TokenSource` for one linked user, renewed through the service token.

    `refresh()` raises `AuthenticationFailed` once the server refuses the exchange (the
    link is gone), which ends the client acting for that user.
    """

    def __init__(self, api: ServiceApi, external_id: str) -> None:
        self._api = api
        self._external_id = external_id
        self._token: str | None = None
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        if self._token is not None:
            times = token_times(self._token)
            if times is None or times.expires_at > time.time() + 5:
                return self._token
        return await self.refresh()

    async def refresh(self) -> str:
        async with self._lock:
            try:
                self._token = await self._api.user_token(self._external_id)
            except ProtocolError as exc:
                if exc.code in ("forbidden", "unauthorized", "not_found"):
                    raise AuthenticationFailed(f"no longer acting for this user: {exc}") from exc
                raise
            return self._token
