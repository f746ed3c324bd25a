"""The per-process service container, built by the lifespan and shared by transports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.security import Passwords, TokenCodec
from app.settings import Settings
from broker import Broker

if TYPE_CHECKING:
    from realtime.hub import Hub
    from realtime.study import Study


@dataclass(slots=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    broker: Broker
    hub: Hub
    tokens: TokenCodec
    passwords: Passwords
    study: Study | None = None  # quiz session runner and board publisher
