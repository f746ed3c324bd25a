"""The symptom bot end to end over WebSocket, with the offline engine (no model configured)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from domain.triage import DISCLAIMER, SPECIALTIES
from tests.bot.support import Answer, conversation, read_answer
from tests.conftest import ApiFactory
from tests.support import Api

SYMPTOMS = "I have had an itchy red rash on my arms for two weeks"
FAST = {"bot_offline_pace_ms": (1, 3), "ws_rate_per_second": 1000, "ws_rate_burst": 1000}


@pytest.fixture
async def fast(api_with: ApiFactory) -> AsyncIterator[Api]:
    async with api_with(**FAST) as api:
        yield api


def assert_triage(triage: dict[str, object], status: str = "complete") -> None:
    assert triage["status"] == status
    assert triage["urgency"] in ("emergency", "urgent", "routine")
    specialty = triage["specialty"]
    assert isinstance(specialty, dict)
    assert SPECIALTIES[str(specialty["code"])].name == specialty["name"]


async def test_offline_answer_streams_and_ends_in_one_durable_message(fast: Api) -> None:
    asha = await fast.user("Asha")
    room = await conversation(fast, asha)
    ws = await fast.ws(asha)
    await ws.subscribe(f"room:{room}")
    ack = await ws.send_message(f"room:{room}", SYMPTOMS)
    assert ack["type"] == "ack" and ack["seq"] == 1
    answer = await read_answer(ws)
    assert answer.start is not None and answer.start["reply_to"] == 1
    stream = answer.start["stream"]
    assert answer.indexes == list(range(len(answer.deltas))) and len(answer.deltas) > 3
    assert {d["stream"] for d in answer.deltas} == {stream}
    assert answer.end == {
        "type": "stream_end", "channel": f"room:{room}", "stream": stream,
        "status": "complete", "seq": 2,
    }  # fmt: skip
    message = answer.message
    assert message is not None
    assert message["seq"] == 2 and message["reply_to"] == 1
    assert message["author"] == {"id": 0, "name": "Symptom2Specialist", "bot": True}
    assert message["body"] == answer.text and message["body"].endswith(DISCLAIMER)
    assert_triage(message["triage"])
    assert message["triage"]["specialty"]["code"] == "dermatology"
    assert message["triage"]["provider"] == "offline"
    # REST history carries the same fields.
    r = await fast.http.get(f"/api/v1/rooms/{room}/messages", headers=asha.headers)
    items = r.json()["items"]
    assert [m["seq"] for m in items] == [1, 2]
    bot = items[-1]
    assert bot["reply_to"] == 1 and bot["triage"] == message["triage"]
    assert bot["author"]["bot"] is True and bot["body"] == message["body"]
    assert items[0]["reply_to"] is None and items[0]["triage"] is None
    await ws.close()


async def test_two_connections_see_the_same_stream(fast: Api) -> None:
    asha = await fast.user("Asha")
    room = await conversation(fast, asha)
    one, two = await fast.ws(asha), await fast.ws(asha)
    for ws in (one, two):
        await ws.subscribe(f"room:{room}")
    await one.send_message(f"room:{room}", SYMPTOMS)
    a, b = await asyncio.gather(read_answer(one), read_answer(two))
    assert a.start == b.start and a.deltas == b.deltas and a.end == b.end
    assert a.message == b.message
    for ws in (one, two):
        await ws.close()
