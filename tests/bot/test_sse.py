"""The bot's answer over the conversation's SSE endpoint (`GET /api/v1/rooms/{id}/events`):
deltas and `stream_end` arrive as SSE events whose ids resume the stream exactly."""

from __future__ import annotations

import json
from typing import Any

from domain.triage import DISCLAIMER
from tests.bot.fake_llm import FakeLLM, Script
from tests.bot.support import bot_api, conversation
from tests.conftest import ApiFactory
from tests.realtime.sse_api import SseEvent, SseStream, stream

SYMPTOMS = "I have had an itchy red rash on my arms for two weeks"
PIECES = [f"piece{i} " for i in range(24)]
VERDICT = "\nSPECIALTY: dermatology | URGENCY: routine"


async def until(events: SseStream, type_: str, seen: list[SseEvent]) -> SseEvent:
    """Read events into `seen` until one of `type_` (the bot's answer interleaves nothing
    else here: the owner is the conversation's only member)."""
    while True:
        ev = await events.next(within=15)
        seen.append(ev)
        if ev.event == type_:
            return ev


def frames(seen: list[SseEvent], type_: str) -> list[dict[str, Any]]:
    return [json.loads(ev.data) for ev in seen if ev.event == type_]


async def test_an_answer_streams_over_sse_and_resumes_from_its_last_event_id(
    api_with: ApiFactory, llm: FakeLLM
) -> None:
    llm.script = Script(pieces=[*PIECES, VERDICT], delay=0.1)
    async with bot_api(api_with, llm) as api:
        asha = await api.user("Asha")
        room = await conversation(api, asha)
        first: list[SseEvent] = []
        async with stream(api, room, asha) as events:
            assert (await events.next()).event == "subscribed"
            posted = await api.post(asha, room, SYMPTOMS, client_id="sse-bot-1")
            assert (await until(events, "message", first)).id == str(posted["seq"])
            start = await until(events, "stream_start", first)
            stream_id = json.loads(start.data)["stream"]
            assert start.id == f"{posted['seq']}/{stream_id}:-1"
            for _ in range(3):
                await until(events, "delta", first)
        # Disconnected mid-answer; reconnect from the last id seen, like an EventSource.
        last = first[-1]
        assert last.event == "delta"
        held = json.loads(last.data)["index"]
        assert last.id == f"{posted['seq']}/{stream_id}:{held}"
        rest: list[SseEvent] = []
        async with stream(api, room, asha, headers={"Last-Event-ID": last.id}) as events:
            end = await until(events, "stream_end", rest)
            answer = await until(events, "message", rest)

    deltas = frames(first, "delta") + frames(rest, "delta")
    # No delta lost or repeated across the reconnect, and no second stream_start.
    assert [d["index"] for d in deltas] == list(range(len(deltas)))
    assert frames(rest, "stream_start") == [] and frames(rest, "message")[:-1] == []
    for ev in [e for e in first + rest if e.event == "delta"]:
        assert ev.id == f"{posted['seq']}/{stream_id}:{json.loads(ev.data)['index']}"
    ended = json.loads(end.data)
    assert ended["status"] == "complete" and ended["stream"] == stream_id
    message = json.loads(answer.data)
    assert answer.id == str(message["seq"]) == str(ended["seq"])
    assert message["author"]["bot"] is True and message["reply_to"] == posted["seq"]
    # What the two connections saw, joined, is exactly the durable answer.
    assert "".join(d["text"] for d in deltas) == message["body"]
    assert message["body"].startswith("".join(PIECES)) and message["body"].endswith(DISCLAIMER)
