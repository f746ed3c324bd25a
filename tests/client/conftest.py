"""Fixtures for the client's tests: real servers, real users, REST-backed token sources."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

import pytest

from client import MessageEvent, RestTokens, Subscription
from tests.support import Api, User

TokensFor = Callable[[User], RestTokens]


@pytest.fixture
def tokens_for(api: Api) -> TokensFor:
    """A token source for a user: their login pair, rotated through REST."""

    def make(user: User) -> RestTokens:
        return RestTokens(
            str(api.http.base_url),
            username=user.email,
            password=user.password,
            access_token=user.token,
            refresh_token=user.refresh_token,
            http=api.http,
        )

    return make


async def messages(sub: Subscription, count: int, within: float = 20) -> list[MessageEvent]:
    """The next `count` message events of `sub` (presence, join, ... skipped)."""
    out: list[MessageEvent] = []
    async with asyncio.timeout(within):
        async for event in sub:
            if isinstance(event, MessageEvent):
                out.append(event)
                if len(out) == count:
                    break
    return out


async def until(condition: Callable[[], bool | Awaitable[bool]], within: float = 10) -> None:
    """Wait until `condition()` holds (polled; it may be async); TimeoutError after `within`."""
    async with asyncio.timeout(within):
        while True:
            held = condition()
            if await held if inspect.isawaitable(held) else held:
                return
            await asyncio.sleep(0.05)
