"""Calls to /api/v1/auth and /api/v1/users/me, shared by the auth specifications."""

from __future__ import annotations

from typing import Any

from tests.support import Api

PASSWORD = "correct horse battery"


async def _me(api: Api, token: str) -> Any:
    return await api.http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})


async def _register(api: Api, email: str, password: str = PASSWORD, name: str = "Asha") -> Any:
    return await api.http.post(
        "/api/v1/auth/register",
        json={"email": email, "password": password, "display_name": name},
    )


async def _login(api: Api, email: str, password: str) -> Any:
    return await api.http.post("/api/v1/auth/token", data={"username": email, "password": password})


async def _refresh(api: Api, refresh_token: str) -> Any:
    return await api.http.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
