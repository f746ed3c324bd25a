"""The bot when time runs out or Redis goes away mid-answer (real `openai` client, real
Redis process, real server): the answer always ends, and its durable record says how."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.triage import DISCLAIMER
from tests.bot.fake_llm import FakeLLM, Script
from tests.bot.support import bot_api, read_answer, ready
from tests.conftest import ApiFactory
from tests.servers import RedisProcess
from tests.support import Api

SYMPTOMS = "I have had an itchy red rash on my arms for two weeks"
VERDICT = "\nSPECIALTY: dermatology | URGENCY: routine"


async def stored_answer(db: AsyncEngine, room: int, seq: int) -> dict[str, object]:
    async with db.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT body, reply_to, triage, usage, error FROM messages"
                    " WHERE room_id = :room AND seq = :seq"
                ),
                {"room": room, "seq": seq},
            )
        ).one()
    return dict(row._mapping)


async def test_the_total_timeout_fails_an_answer_that_keeps_streaming(
    api_with: ApiFactory, llm: FakeLLM, db: AsyncEngine
) -> None:
    # A steady trickle never trips the first-token or idle timeouts; the total one does.
    llm.script = Script(pieces=[f"word{i} " for i in range(60)], delay=0.1)
    settings = {"bot_total_seconds": 1.0, "bot_idle_seconds": 5.0, "bot_first_token_seconds": 5.0}
    async with bot_api(api_with, llm, **settings) as api:
        _, room, ws = await ready(api)
        ack = await ws.send_message(f"room:{room}", SYMPTOMS)
        answer = await read_answer(ws, within=10)
        assert answer.end is not None and answer.end["status"] == "failed"
        assert answer.end["error"]["code"] == "unavailable"
        assert answer.end["error"]["reason"] == "total_timeout"
        assert answer.text.startswith("word0 ") and "word59" not in answer.text
        async with asyncio.timeout(5):
            await llm.disconnected.wait()  # the request to the model was closed
        message = answer.message
        assert message is not None and message["reply_to"] == ack["seq"]
        assert message["triage"]["status"] == "failed"
        assert message["body"].startswith(answer.text.rstrip()) and message["body"].endswith(
            DISCLAIMER
        )
        # Usage is recorded although the model never sent its usage chunk: one per piece.
        shown = answer.text.count("word")
        assert message["usage"] == {
            "prompt_tokens": None, "completion_tokens": shown, "total_tokens": None,
            "estimated": True,
        }  # fmt: skip
        stored = await stored_answer(db, room, message["seq"])
        assert stored["body"] == message["body"] and stored["reply_to"] == ack["seq"]
        assert stored["usage"] == message["usage"]
        assert stored["error"] == answer.end["error"]
        # The conversation is free again.
        llm.script = Script(pieces=["Fine.", VERDICT])
        assert (await ws.send_message(f"room:{room}", "again"))["type"] == "ack"
        assert (await read_answer(ws)).end is not None
        await ws.close()


async def redis_noticed_down(api: Api, within: float = 15) -> None:
    """Wait until the server itself reports Redis unreachable (/readyz)."""
    async with asyncio.timeout(within):
        while (await api.http.get("/readyz")).status_code == 200:  # noqa: ASYNC110 - polled over HTTP
            await asyncio.sleep(0.05)


async def test_an_answer_survives_redis_restarting_mid_stream(
    api_with: ApiFactory, llm: FakeLLM, private_redis: RedisProcess, db: AsyncEngine
) -> None:
    pieces = [f"part{i} " for i in range(40)]
    llm.script = Script(pieces=[*pieces, VERDICT], delay=0.15)
    # A short lease and a busy sweeper: a lease lost with Redis is noticed at once.
    fast = {"bot_lease_seconds": 1.0, "bot_sweep_seconds": 0.2}
    async with bot_api(api_with, llm, redis_url=private_redis.url, **fast) as api:
        _, room, ws = await ready(api)
        ack = await ws.send_message(f"room:{room}", SYMPTOMS)
        assert ack["type"] == "ack"
        answer = await read_answer(ws, deltas=2, within=10)
        # Redis restarts empty: the answer's stream, lease and pub/sub all go with it.
        private_redis.kill()
        await redis_noticed_down(api)
        private_redis.start()
        answer = await read_answer(ws, answer, within=30)

        # The documented outcome (docs/protocol.md §15): the answer ends as it would have,
        # `stream_end` and the durable message reach the subscriber once pub/sub is back,
        # and the message holds the full text; deltas published while Redis was gone are
        # missing from the live stream (never repeated, never out of order).
        assert answer.end is not None and answer.end["status"] == "complete", answer.end
        message = answer.message
        assert message is not None and message["triage"]["status"] == "complete"
        assert message["body"].startswith("".join(pieces))
        assert message["body"].endswith(DISCLAIMER)
        assert answer.indexes == sorted(set(answer.indexes))
        for delta in answer.deltas:
            assert delta["text"] in message["body"]
        # Nothing acknowledged was lost: the user's message and the answer are durable.
        assert (await stored_answer(db, room, ack["seq"]))["body"] == SYMPTOMS
        stored = await stored_answer(db, room, message["seq"])
        assert stored["body"] == message["body"] and stored["error"] is None
        assert stored["usage"] == message["usage"] and message["usage"]["estimated"] is False
        await ws.close()
