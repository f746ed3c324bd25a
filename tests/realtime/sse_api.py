"""A strict EventSource client over httpx (`stream` opens one), for the SSE specifications."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support import Api, User

WITHIN = 10.0


@dataclass
class SseEvent:
    event: str | None
    id: str | None
    data: str

    @property
    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class SseStream:
    """A minimal, strict EventSource parser over an httpx streaming response."""

    response: httpx.Response
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lines = self.response.aiter_lines()

    async def next(self, within: float = WITHIN) -> SseEvent:
        """The next dispatched event (comments and retry hints are recorded on the way)."""
        event: str | None = None
        event_id: str | None = None
        data: list[str] = []
        async with asyncio.timeout(within):
            while True:
                line = await anext(self._lines)
                if line == "":
                    if data:
                        return SseEvent(event, event_id, "\n".join(data))
                    event, event_id = None, None
                    continue
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                    continue
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "event":
                    event = value
                elif name == "id":
                    event_id = value
                elif name == "data":
                    data.append(value)
                elif name == "retry":
                    self.retry = int(value)
                else:
                    raise AssertionError(f"unexpected SSE field line {line!r}")

    async def keepalive(self, within: float = WITHIN) -> str:
        """Read on until the next comment line (a keep-alive); events on the way are dropped."""
        async with asyncio.timeout(within):
            while not (line := await anext(self._lines)).startswith(":"):
                pass
        self.comments.append(line[1:].strip())
        return line

    async def expect(self, type_: str, within: float = WITHIN) -> SseEvent:
        """The next event of `type_`, skipping presence noise (join/leave/typing)."""
        async with asyncio.timeout(within):
            while True:
                ev = await self.next(within)
                if ev.event in ("join", "leave", "typing") and ev.event != type_:
                    continue
                assert ev.event == type_, f"expected {type_}, got {ev}"
                return ev

    async def messages(self, count: int, within: float = WITHIN) -> list[SseEvent]:
        out: list[SseEvent] = []
        async with asyncio.timeout(within):
            while len(out) < count:
                ev = await self.next(within)
                if ev.event == "message":
                    out.append(ev)
        return out


@asynccontextmanager
async def stream(
    api: Api,
    room: int,
    user: User | None = None,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
) -> AsyncIterator[SseStream]:
    all_headers = {"Accept": "text/event-stream", **(user.headers if user else {})}
    all_headers.update(headers or {})
    async with asyncio.timeout(WITHIN):
        ctx = api.http.stream(
            "GET", f"/api/v1/rooms/{room}/events", headers=all_headers, params=params
        )
        response = await ctx.__aenter__()
    try:
        assert response.status_code == 200, (await response.aread()).decode()
        yield SseStream(response)
    finally:
        await ctx.__aexit__(None, None, None)
