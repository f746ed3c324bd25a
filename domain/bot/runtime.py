"""What a bot answer runs with: the worker's shared services (`Runtime`) and the one answer
to generate (`Job`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker import Broker
from domain.bot.config import BotConfig
from domain.bot.providers import Prompt, Provider


@dataclass(frozen=True, slots=True)
class Runtime:
    sessions: async_sessionmaker[AsyncSession]
    broker: Broker
    config: BotConfig


@dataclass(frozen=True, slots=True)
class Job:
    stream: str
    room_id: int
    reply_to: int
    provider: Provider
    prompt: Prompt
