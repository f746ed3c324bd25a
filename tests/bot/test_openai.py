"""The bot through the real `openai` client against a local OpenAI-compatible server."""

from __future__ import annotations

import asyncio

from domain.triage import DISCLAIMER
from tests.bot.fake_llm import FakeLLM, Script
from tests.bot.support import bot_api, read_answer, ready
from tests.conftest import ApiFactory

SYMPTOMS = "I have had an itchy red rash on my arms for two weeks"
EMERGENCY = "I have crushing chest pain spreading to my left arm and I am sweating"
ANSWER = [
    "An itchy", " red rash", " for two weeks", " is best seen by a", " dermatologist.",
    "\n\n", DISCLAIMER[:30], DISCLAIMER[30:], "\n", "SPECIALTY: derma", "tology | URGENCY:",
    " routine",
]  # fmt: skip


async def test_model_answer_streams_without_its_verdict_line(
    api_with: ApiFactory, llm: FakeLLM
) -> None:
    llm.script = Script(pieces=ANSWER, delay=0.01)
    async with bot_api(api_with, llm) as api:
        asha, room, ws = await ready(api)
        await ws.send_message(f"room:{room}", SYMPTOMS)
        answer = await read_answer(ws)
        assert answer.end is not None and answer.end["status"] == "complete"
        message = answer.message
        assert message is not None
        assert message["body"] == answer.text
        assert "SPECIALTY" not in message["body"] and message["body"].endswith(DISCLAIMER)
        assert message["triage"]["specialty"] == {"code": "dermatology", "name": "Dermatologist"}
        assert message["triage"]["provider"] == "fake-1"
        assert message["usage"] == {
            "prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49, "estimated": False,
        }  # fmt: skip
        (call,) = llm.calls
        assert call["stream"] is True and call["stream_options"] == {"include_usage": True}
        assert call["model"] == "fake-1"
        assert call["messages"][0]["role"] == "system"
        assert "SPECIALTY: <code>" in call["messages"][0]["content"]
        assert call["messages"][-1] == {"role": "user", "content": SYMPTOMS}
        # The next message carries the conversation so far (the bot's answer included).
        llm.script = Script(pieces=["Thanks.", "\nSPECIALTY: dermatology | URGENCY: routine"])
        await ws.send_message(f"room:{room}", "it also burns")
        await read_answer(ws)
        roles = [m["role"] for m in llm.calls[1]["messages"]]
        assert roles == ["system", "user", "assistant", "user"]
        r = await api.http.get(f"/api/v1/rooms/{room}/messages", headers=asha.headers)
        assert r.json()["items"][1]["usage"]["total_tokens"] == 49
        await ws.close()


async def test_an_unknown_specialty_falls_back_to_the_offline_engine(
    api_with: ApiFactory, llm: FakeLLM
) -> None:
    llm.script = Script(pieces=["See someone.", "\nSPECIALTY: wizardry | URGENCY: whenever"])
    async with bot_api(api_with, llm) as api:
        _, room, ws = await ready(api)
        await ws.send_message(f"room:{room}", SYMPTOMS)
        answer = await read_answer(ws)
        message = answer.message
        assert message is not None and message["body"] == answer.text
        assert message["triage"]["specialty"]["code"] == "dermatology"  # the offline choice
        assert message["triage"]["urgency"] == "routine"
        assert "Suggested specialist: Dermatologist." in message["body"]
        assert message["body"].endswith(DISCLAIMER) and "wizardry" not in message["body"]
        await ws.close()


async def test_a_red_flag_never_reaches_the_model(api_with: ApiFactory, llm: FakeLLM) -> None:
    async with bot_api(api_with, llm) as api:
        _, room, ws = await ready(api)
        await ws.send_message(f"room:{room}", EMERGENCY)
        (bot,) = [m for m in await ws.messages(2) if m["author"].get("bot")]
        assert bot["triage"]["urgency"] == "emergency"
        assert llm.calls == []
        await ws.close()


async def test_an_upstream_error_mid_stream_fails_the_answer(
    api_with: ApiFactory, llm: FakeLLM
) -> None:
    llm.script = Script(pieces=ANSWER, fail_after=3, delay=0.01)
    async with bot_api(api_with, llm) as api:
        asha, room, ws = await ready(api)
        await ws.send_message(f"room:{room}", SYMPTOMS)
        answer = await read_answer(ws)
        assert answer.end is not None and answer.end["status"] == "failed"
        assert answer.end["error"]["code"] == "unavailable"
        assert answer.end["error"]["reason"] == "upstream_error"
        assert "exploded" not in answer.end["error"]["message"]  # never the upstream's words
        message = answer.message
        assert message is not None and message["triage"]["status"] == "failed"
        assert message["body"].startswith(answer.text.rstrip()) and answer.text
        assert message["usage"]["estimated"] is True  # cut before the usage chunk
        # The conversation is free again.
        llm.script = Script(pieces=["Fine.", "\nSPECIALTY: dermatology | URGENCY: routine"])
        assert (await ws.send_message(f"room:{room}", "again"))["type"] == "ack"
        assert (await read_answer(ws)).end is not None
        del asha
        await ws.close()


async def test_an_upstream_429_fails_the_answer_as_rate_limited(
    api_with: ApiFactory, llm: FakeLLM
) -> None:
    llm.script = Script(status=429)
    async with bot_api(api_with, llm) as api:
        _, room, ws = await ready(api)
        await ws.send_message(f"room:{room}", SYMPTOMS)
        answer = await read_answer(ws)
        assert answer.end is not None and answer.end["status"] == "failed"
        assert answer.end["error"]["code"] == "rate_limited"
        assert answer.deltas == [] and answer.message is not None
        assert answer.message["body"].endswith(DISCLAIMER)
        assert len(llm.calls) == 1  # no hidden retries
        await ws.close()


async def test_no_first_token_in_time_fails_the_answer(api_with: ApiFactory, llm: FakeLLM) -> None:
    llm.script = Script(first_delay=5)
    async with bot_api(api_with, llm, bot_first_token_seconds=0.5) as api:
        _, room, ws = await ready(api)
        await ws.send_message(f"room:{room}", SYMPTOMS)
        answer = await read_answer(ws, within=4)
        assert answer.end is not None and answer.end["status"] == "failed"
        assert answer.end["error"]["reason"] == "first_token_timeout"
        async with asyncio.timeout(5):
            await llm.disconnected.wait()  # the request to the model was closed
        await ws.close()


async def test_a_silent_model_mid_answer_hits_the_idle_timeout(
    api_with: ApiFactory, llm: FakeLLM
) -> None:
    llm.script = Script(pieces=["One", " two", " three"], delay=3)
    async with bot_api(api_with, llm, bot_idle_seconds=0.5) as api:
        _, room, ws = await ready(api)
        await ws.send_message(f"room:{room}", SYMPTOMS)
        answer = await read_answer(ws, within=4)
        assert answer.end is not None and answer.end["error"]["reason"] == "idle_timeout"
        assert answer.text == "One"
        await ws.close()
