"""A live consultation across two real workers (issue 11, item 2): the patient on one
worker, the doctor on the other, in the same bot conversation. Typing and presence flow
both ways; the bot answers only when the patient addresses it, and red flags are still
answered at once; revoking the share ends the doctor's WebSocket and SSE subscriptions on
both workers within a second and their REST access."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.bot.support import STREAM_TYPES, conversation
from tests.care.support import access_log, doctor, share
from tests.realtime.sse_api import stream
from tests.realtime.test_live_auth import report, sse_ends
from tests.rest.expect import error_of
from tests.support import Api, WsClient

pytestmark = pytest.mark.processes


async def bot_reply(ws: WsClient, within: float = 30) -> tuple[dict[str, Any], list[str]]:
    """The next bot message, and the types of the stream frames seen before it; every
    stream frame seen must answer the same message as the bot message does."""
    streamed: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while True:
            frame = await ws.recv(within)
            if frame["type"] in STREAM_TYPES:
                streamed.append(frame)
            elif frame["type"] == "message" and frame["author"].get("bot"):
                starts = [f for f in streamed if f["type"] == "stream_start"]
                assert all(f["reply_to"] == frame["reply_to"] for f in starts), starts
                return frame, [f["type"] for f in streamed]


async def typing_of(ws: WsClient, user_id: int, within: float = 10) -> dict[str, Any]:
    """The next `typing` of `user_id` (the sender's own echo and noise skipped)."""
    async with asyncio.timeout(within):
        while True:
            frame = await ws.expect("typing", skip=frozenset({"presence", "join", "leave"}))
            if frame["user"]["id"] == user_id:
                return frame


async def test_patient_and_doctor_chat_live_and_the_bot_waits_to_be_asked(
    apis: tuple[Api, Api], schema: AsyncEngine
) -> None:
    on_a, on_b = apis
    asha = await on_a.user("Asha")
    doc = await doctor(on_b, schema, "Dr. Quill")
    room = await conversation(on_a, asha)
    channel = f"room:{room}"
    await share(on_a, asha, room, doc, "participate")
    patient, medic = await on_a.ws(asha), await on_b.ws(doc)
    assert patient.hello["node"] != medic.hello["node"]
    await patient.subscribe(channel)
    reply = await medic.request({"type": "subscribe", "channel": channel})
    assert reply["type"] == "subscribed"
    presence = await medic.recv()
    assert presence["type"] == "presence"
    assert {u["id"] for u in presence["online"]} == {asha.id, doc.id}
    joined = await patient.expect("join", skip=frozenset({"presence"}))
    if joined["user"]["id"] == asha.id:  # the patient's own join may come first
        joined = await patient.expect("join", skip=frozenset({"presence"}))
    assert joined["user"] == {"id": doc.id, "name": "Dr. Quill"}

    # Typing, both ways across the workers.
    await medic.send({"type": "typing", "channel": channel})
    assert (await typing_of(patient, doc.id))["user"] == {"id": doc.id, "name": "Dr. Quill"}
    await patient.send({"type": "typing", "channel": channel})
    assert (await typing_of(medic, asha.id))["user"]["name"] == "Asha"

    # The doctor and the patient talk; the bot stays quiet until the patient asks it.
    await medic.send_message(channel, "Hello, how long has the rash itched?")
    said = await patient.send_message(channel, "Two weeks now, on both arms")
    asked = await patient.send_message(
        channel, "@bot which specialist for an itchy red rash on my arms for two weeks?"
    )
    answer, streamed = await bot_reply(patient)
    assert answer["reply_to"] == asked["seq"] > said["seq"]
    assert streamed[0] == "stream_start" and streamed[-1] == "stream_end"
    assert answer["triage"]["specialty"]["code"] == "dermatology"
    seen, _ = await bot_reply(medic)  # the doctor sees the same answer live
    assert seen["seq"] == answer["seq"]

    # A red flag is answered at once even though nobody addressed the bot.
    urgent = await patient.send_message(channel, "Now crushing chest pain and I cannot breathe")
    emergency, streamed = await bot_reply(patient)
    assert emergency["reply_to"] == urgent["seq"] and streamed == []
    assert emergency["triage"]["urgency"] == "emergency"

    # Everything the doctor read live is in the patient's access log.
    logged = await access_log(on_a, asha)
    assert (doc.id, "subscribe", room) in {
        (e["actor"]["id"], e["action"], e["room_id"]) for e in logged
    }
    await patient.close()
    await medic.close()


async def test_revoking_ends_the_doctors_subscriptions_on_both_workers_within_a_second(
    apis: tuple[Api, Api], schema: AsyncEngine
) -> None:
    on_a, on_b = apis
    asha = await on_a.user("Asha")
    doc = await doctor(on_a, schema, "Dr. Quill")
    room = await conversation(on_a, asha)
    channel = f"room:{room}"
    await share(on_a, asha, room, doc, "participate")
    medics = [await on_a.ws(doc), await on_b.ws(doc)]
    patient = await on_b.ws(asha)
    for ws in (*medics, patient):
        await ws.subscribe(channel)
    async with stream(on_a, room, doc) as sse_a, stream(on_b, room, doc) as sse_b:
        for s in (sse_a, sse_b):
            assert (await s.next()).event == "subscribed"
        started = time.perf_counter()
        r = await on_a.http.delete(f"/api/v1/rooms/{room}/shares/{doc.id}", headers=asha.headers)
        assert r.status_code == 204, r.text
        for i, ws in enumerate(medics):
            frame = await ws.expect("unsubscribed")
            report(f"revoke -> unsubscribed (doctor socket on worker {'AB'[i]})", started)
            assert frame == {"type": "unsubscribed", "channel": channel, "reason": "revoked"}
        for name, s in (("A", sse_a), ("B", sse_b)):
            error = await sse_ends(s)
            report(f"revoke -> doctor's SSE ended on worker {name}", started)
            assert error["code"] == "forbidden"
            assert error["details"] == {"channel": channel, "reason": "revoked"}
    for api, ws in zip(apis, medics, strict=True):  # REST and re-subscribing, both workers
        r = await api.http.get(f"/api/v1/rooms/{room}/messages", headers=doc.headers)
        error_of(r, 403, "forbidden")
        reply = await ws.request({"type": "subscribe", "channel": channel})
        assert reply["type"] == "error" and reply["code"] == "forbidden"
    # The patient's own subscription goes on.
    await on_a.post(asha, room, "still here")
    (mine,) = await patient.messages(1)
    assert mine["body"] == "still here"
    for ws in (*medics, patient):
        await ws.close()
