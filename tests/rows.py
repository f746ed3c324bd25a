"""Rows written straight to PostgreSQL, for domain tests that start below the API."""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from models import User


async def add_users(session: AsyncSession, *names: str) -> list[User]:
    """One user per name, each with an email no other test uses; flushed (ids known)."""
    users = [
        User(email=f"{name}-{secrets.token_hex(4)}@example.com", display_name=name)
        for name in names
    ]
    session.add_all(users)
    await session.flush()
    return users
