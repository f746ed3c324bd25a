"""Helpers for bot conversation tests: create a conversation, read an answer's stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.bot.fake_llm import FakeLLM
from tests.conftest import ApiFactory
from tests.support import Api, User, WsClient

STREAM_TYPES = frozenset({"stream_start", "delta", "stream_end"})


async def conversation(api: Api, owner: User) -> int:
    r = await api.http.post(
        "/api/v1/rooms", json={"kind": "bot_conversation"}, headers=owner.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["invite_code"] is None
    room_id: int = r.json()["id"]
    return room_id


@dataclass
class Answer:
    start: dict[str, Any] | None = None
    deltas: list[dict[str, Any]] = field(default_factory=list)
    end: dict[str, Any] | None = None
    message: dict[str, Any] | None = None
    others: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(d["text"] for d in self.deltas)

    @property
    def indexes(self) -> list[int]:
        return [d["index"] for d in self.deltas]


async def read_answer(
    ws: WsClient, answer: Answer | None = None, *, within: float = 30, deltas: int | None = None
) -> Answer:
    """Read frames into `answer` until the bot's durable message and `stream_end` both
    arrived (or, with `deltas`, until that many deltas are in)."""
    answer = answer or Answer()
    async with asyncio.timeout(within):
        while True:
            if deltas is not None and len(answer.deltas) >= deltas:
                return answer
            if answer.end is not None and (
                answer.message is not None or answer.end.get("seq") is None
            ):
                return answer
            frame = await ws.recv(within)
            kind = frame["type"]
            if kind == "stream_start":
                assert answer.start is None, "stream_start twice"
                answer.start = frame
            elif kind == "delta":
                answer.deltas.append(frame)
            elif kind == "stream_end":
                assert answer.end is None, "stream_end twice"
                answer.end = frame
            elif kind == "message" and frame["author"].get("bot"):
                answer.message = frame
            else:
                answer.others.append(frame)


@asynccontextmanager
async def bot_api(api_with: ApiFactory, llm: FakeLLM, **extra: object) -> AsyncIterator[Api]:
    async with api_with(
        openai_base_url=llm.base_url,
        openai_api_key="test-key",
        openai_model="fake-1",
        ws_rate_per_second=1000,
        ws_rate_burst=1000,
        **extra,
    ) as api:
        yield api


async def ready(api: Api) -> tuple[User, int, WsClient]:
    asha = await api.user("Asha")
    room = await conversation(api, asha)
    ws = await api.ws(asha)
    await ws.subscribe(f"room:{room}")
    return asha, room, ws
