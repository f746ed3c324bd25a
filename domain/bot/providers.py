"""Providers: what writes the bot's words. One small interface, two implementations.

A provider streams `Piece`s for a prompt: text as it is produced, and usage when the
provider reports it. It raises `ProviderError` for a failure it understands (the model's
server refused or broke off); timeouts are the caller's (domain/bot/generation.py), so
every provider gets the same first-token / idle / total limits.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from domain.triage import TriageResult, chunks

Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class Turn:
    role: Role
    text: str


@dataclass(frozen=True, slots=True)
class Prompt:
    """The conversation the model sees: earlier turns (windowed) and the new message.

    `offline` is the offline engine's triage of the new message given the earlier user
    messages: the offline provider's answer, and the fallback that validates a model's."""

    history: Sequence[Turn]
    message: str
    offline: TriageResult


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None


@dataclass(frozen=True, slots=True)
class Piece:
    text: str = ""
    usage: Usage | None = None


class ProviderError(Exception):
    """The provider failed. `code`/`reason` as StreamError's; the message is generic and
    safe to show (it never repeats what the upstream said, which could echo health data)."""

    def __init__(self, code: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


class Provider(Protocol):
    @property
    def name(self) -> str:
        """What `triage.provider` says: "offline" or the model's name."""
        ...

    @property
    def strict_verdict(self) -> bool:
        """True if its text ends with the strict SPECIALTY/URGENCY line (verdict.py)."""
        ...

    def stream(self, prompt: Prompt) -> AsyncGenerator[Piece, None]: ...


class OfflineProvider:
    """The offline triage engine, streamed at a human reading pace (its answer is ready at
    once; pacing keeps the client experience the same as with a model)."""

    name = "offline"
    strict_verdict = False

    def __init__(self, pace: tuple[float, float] = (0.03, 0.06)) -> None:
        self._pace = pace

    async def stream(self, prompt: Prompt) -> AsyncGenerator[Piece, None]:
        low, high = self._pace
        for piece in chunks(prompt.offline.answer):
            yield Piece(piece)
            if high > 0:
                await asyncio.sleep(random.uniform(low, high))  # pacing only, not security
