"""Helpers for the doctors/consultation tests: make a doctor, share, read the access log.

Registration offers no `doctor` role (doctors are made by an operator, like the seed), so
`doctor` promotes a freshly registered user in PostgreSQL and signs in again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import Api, User


async def doctor(
    api: Api,
    engine: AsyncEngine,
    name: str = "Dr. Test",
    specialty: str = "dermatology",
    city: str = "Pune",
    *,
    available: bool = True,
    languages: tuple[str, ...] = ("en",),
) -> User:
    user = await api.user("Doctor")
    user.name = name
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET role = 'doctor', display_name = :name WHERE id = :id"),
            {"id": user.id, "name": name},
        )
        await conn.execute(
            text(
                "INSERT INTO doctor_profiles (user_id, specialty, city, languages, available)"
                " VALUES (:id, :specialty, :city, :languages, :available)"
            ),
            {
                "id": user.id,
                "specialty": specialty,
                "city": city,
                "languages": list(languages),
                "available": available,
            },
        )
    t = await api.http.post(
        "/api/v1/auth/token", data={"username": user.email, "password": user.password}
    )
    assert t.status_code == 200, t.text
    user.token = t.json()["access_token"]
    return user


async def share(api: Api, owner: User, room: int, doc: User, mode: str = "read") -> dict[str, Any]:
    r = await api.http.post(
        f"/api/v1/rooms/{room}/shares",
        json={"doctor_id": doc.id, "mode": mode},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def access_log(api: Api, owner: User) -> list[dict[str, Any]]:
    r = await api.http.get("/api/v1/me/access-log", headers=owner.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items
