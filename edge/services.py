"""The per-process service container, built by the lifespan (app/main.py) and read by every
transport through `services_of` / `ServicesDep`.

It holds what REST and the real-time endpoints both use. The hub is not here: it is a
realtime/ object (`realtime.deps.hub_of`), and REST has no business with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from app.settings import Settings
from broker import Broker
from domain.admission import Admission
from domain.bot.service import BotService
from domain.notifications import Notifier
from domain.security import Passwords, TokenCodec
from domain.study.live import Study


@dataclass(slots=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    broker: Broker
    tokens: TokenCodec
    passwords: Passwords
    bot: BotService
    study: Study | None = None  # quiz session runner and board publisher
    # Admission control for new writes (domain/admission.py); None admits everything.
    admission: Admission | None = None

    @property
    def notifier(self) -> Notifier:
        return self.bot.notifier


def services_of(connection: HTTPConnection) -> Services:
    """The container of the app serving `connection` (an HTTP request or a WebSocket)."""
    services: Services = connection.app.state.services
    return services


def get_services(request: Request) -> Services:
    return services_of(request)


ServicesDep = Annotated[Services, Depends(get_services)]
