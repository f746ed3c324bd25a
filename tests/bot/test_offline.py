"""The symptom bot end to end over WebSocket, with the offline engine (no model configured)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from domain.triage import DISCLAIMER, SPECIALTIES
from tests.bot.support import conversation, read_answer
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
    assert "reply_to" not in items[0] and "triage" not in items[0]  # a person's message
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


PACED = {"bot_offline_pace_ms": (20, 30), "ws_rate_per_second": 1000, "ws_rate_burst": 1000}
EMERGENCY = "I have crushing chest pain spreading to my left arm and I am sweating"


@pytest.fixture
async def paced(api_with: ApiFactory) -> AsyncIterator[Api]:
    async with api_with(**PACED) as api:
        yield api


async def test_reconnect_mid_stream_resumes_without_loss_or_repeat(paced: Api) -> None:
    asha = await paced.user("Asha")
    room = await conversation(paced, asha)
    channel = f"room:{room}"
    first = await paced.ws(asha)
    await first.subscribe(channel)
    await first.send_message(channel, SYMPTOMS)
    before = await read_answer(first, deltas=5)
    assert before.start is not None
    stream = before.start["stream"]
    await first.close()
    # Holding deltas 0..4, with the seq it saw: resume from index 5.
    again = await paced.ws(asha)
    position = {"id": stream, "index": before.deltas[-1]["index"]}
    reply = await again.request(
        {"type": "subscribe", "channel": channel, "since": 1, "stream": position}
    )
    assert reply["type"] == "subscribed" and reply["head"] == 1
    # A newcomer with nothing gets the whole answer so far from index 0.
    fresh = await paced.ws(asha)
    await fresh.subscribe(channel)
    after, whole = await asyncio.gather(read_answer(again), read_answer(fresh))
    assert after.start is None, "the resumed client holds the start already"
    joined = before.deltas + after.deltas
    assert [d["index"] for d in joined] == list(range(len(joined)))
    assert whole.start == before.start and whole.deltas == joined
    assert after.message is not None and after.message["body"] == "".join(d["text"] for d in joined)
    for ws in (again, fresh):
        await ws.close()


async def test_cancel_from_another_connection_keeps_the_partial_answer(paced: Api) -> None:
    asha = await paced.user("Asha")
    room = await conversation(paced, asha)
    channel = f"room:{room}"
    sender, other = await paced.ws(asha), await paced.ws(asha)
    for ws in (sender, other):
        await ws.subscribe(channel)
    await sender.send_message(channel, SYMPTOMS)
    seen = await read_answer(other, deltas=3)
    assert seen.start is not None
    stream = seen.start["stream"]
    reply = await other.request({"type": "cancel", "channel": channel, "stream": stream})
    assert reply == {"type": "cancelled", "ref": reply["ref"], "channel": channel, "stream": stream}
    got = await read_answer(sender)
    rest = await read_answer(other, seen)
    assert got.end is not None and got.end["status"] == "cancelled" and got.end["seq"] == 2
    assert rest.deltas == got.deltas
    # It stopped within a window of the cancel: the answer is far from done.
    assert len(got.deltas) <= len(seen.deltas) + 3
    assert got.message is not None
    assert got.message["body"].startswith(got.text)
    assert got.message["body"].endswith(DISCLAIMER)
    assert_triage(got.message["triage"], "cancelled")
    # Ended: a second cancel is a conflict; the conversation takes a new message.
    again = await other.request({"type": "cancel", "channel": channel, "stream": stream})
    assert again["type"] == "error" and again["code"] == "conflict"
    ack = await sender.send_message(channel, "and my skin peels")
    assert ack["type"] == "ack" and ack["seq"] == 3
    await read_answer(sender)
    for ws in (sender, other):
        await ws.close()


async def test_rest_cancel_is_accepted_and_owner_checked(paced: Api) -> None:
    asha, ravi = await paced.user("Asha"), await paced.user("Ravi")
    room = await conversation(paced, asha)
    ws = await paced.ws(asha)
    await ws.subscribe(f"room:{room}")
    await ws.send_message(f"room:{room}", SYMPTOMS)
    seen = await read_answer(ws, deltas=1)
    assert seen.start is not None
    url = f"/api/v1/rooms/{room}/streams/{seen.start['stream']}/cancel"
    assert (await paced.http.post(url, headers=ravi.headers)).status_code == 403
    assert (await paced.http.post(url, headers=asha.headers)).status_code == 202
    done = await read_answer(ws, seen)
    assert done.end is not None and done.end["status"] == "cancelled"
    missing = f"/api/v1/rooms/{room}/streams/s-nope/cancel"
    assert (await paced.http.post(missing, headers=asha.headers)).status_code == 404
    await ws.close()


async def test_a_send_while_an_answer_is_in_flight_is_a_conflict_and_stores_nothing(
    paced: Api,
) -> None:
    asha = await paced.user("Asha")
    room = await conversation(paced, asha)
    channel = f"room:{room}"
    ws = await paced.ws(asha)
    await ws.subscribe(channel)
    await ws.send_message(channel, SYMPTOMS)
    seen = await read_answer(ws, deltas=1)
    refused = await ws.send_message(channel, "also my feet itch")
    assert refused["type"] == "error" and refused["code"] == "conflict"
    assert refused["details"]["stream"] == seen.start["stream"] if seen.start else False
    r = await paced.http.post(
        f"/api/v1/rooms/{room}/messages", json={"body": "hello?"}, headers=asha.headers
    )
    assert r.status_code == 409
    done = await read_answer(ws, seen)
    assert done.end is not None and done.end["seq"] == 2  # nothing was stored in between
    await ws.close()


async def test_red_flag_gets_the_emergency_message_at_once_and_no_stream(fast: Api) -> None:
    asha = await fast.user("Asha")
    room = await conversation(fast, asha)
    channel = f"room:{room}"
    ws = await fast.ws(asha)
    await ws.subscribe(channel)
    ack = await ws.send_message(channel, EMERGENCY)
    assert ack["type"] == "ack"
    bot = None
    async with asyncio.timeout(10):
        while bot is None:
            frame = await ws.recv()
            assert frame["type"] not in ("stream_start", "delta", "stream_end"), frame
            if frame["type"] == "message" and frame["author"].get("bot"):
                bot = frame
    assert bot["seq"] == 2 and bot["reply_to"] == ack["seq"]
    assert bot["triage"]["urgency"] == "emergency"
    assert bot["triage"]["specialty"]["code"] == "emergency_medicine"
    assert bot["triage"]["red_flags"] and bot["body"].endswith(DISCLAIMER)
    # No answer is in flight: the next message is answered normally.
    await ws.send_message(channel, SYMPTOMS)
    answer = await read_answer(ws)
    assert answer.end is not None and answer.end["status"] == "complete"
    await ws.close()


async def test_past_the_quota_a_send_is_rate_limited_and_stores_nothing(
    api_with: ApiFactory,
) -> None:
    async with api_with(**FAST, bot_quota=2) as api:
        asha = await api.user("Asha")
        room = await conversation(api, asha)
        channel = f"room:{room}"
        ws = await api.ws(asha)
        await ws.subscribe(channel)
        for _ in range(2):
            assert (await ws.send_message(channel, SYMPTOMS))["type"] == "ack"
            await read_answer(ws)
        refused = await ws.send_message(channel, SYMPTOMS)
        assert refused["type"] == "error" and refused["code"] == "rate_limited"
        r = await api.http.get(f"/api/v1/rooms/{room}/messages", headers=asha.headers)
        assert r.json()["head"] == 4
        # A red flag is never refused for quota: no model is called for it.
        assert (await ws.send_message(channel, EMERGENCY))["type"] == "ack"
        await ws.close()


async def test_deleting_a_conversation_mid_answer_stops_it(paced: Api) -> None:
    asha = await paced.user("Asha")
    room = await conversation(paced, asha)
    ws = await paced.ws(asha)
    await ws.subscribe(f"room:{room}")
    await ws.send_message(f"room:{room}", SYMPTOMS)
    await read_answer(ws, deltas=1)
    r = await paced.http.delete(f"/api/v1/rooms/{room}", headers=asha.headers)
    assert r.status_code == 204
    other = await paced.user("Ravi")
    again = await conversation(paced, other)  # the server keeps working
    assert again != room
    r = await paced.http.get(f"/api/v1/rooms/{room}/messages", headers=asha.headers)
    assert r.status_code == 404
    await ws.close()


async def test_a_conversation_is_private_to_its_owner(fast: Api) -> None:
    asha, ravi = await fast.user("Asha"), await fast.user("Ravi")
    room = await conversation(fast, asha)
    spy = await fast.ws(ravi)
    reply = await spy.request({"type": "subscribe", "channel": f"room:{room}"})
    assert reply["type"] == "error" and reply["code"] == "forbidden"
    await spy.close()


async def test_an_emergency_during_an_answer_is_never_refused_and_cancels_it(paced: Api) -> None:
    asha = await paced.user("Asha")
    room = await conversation(paced, asha)
    channel = f"room:{room}"
    ws = await paced.ws(asha)
    await ws.subscribe(channel)
    await ws.send_message(channel, SYMPTOMS)
    seen = await read_answer(ws, deltas=1)
    ack = await ws.send_message(channel, EMERGENCY)
    assert ack["type"] == "ack", ack  # stored, though an answer was in flight
    emergency = None
    async with asyncio.timeout(20):
        while emergency is None or seen.end is None:
            frame = await ws.recv()
            if frame["type"] == "stream_end":
                seen.end = frame
            elif frame["type"] == "message" and frame.get("reply_to") == ack["seq"]:
                emergency = frame
    assert emergency["triage"]["urgency"] == "emergency"
    assert seen.end["status"] == "cancelled"
    await ws.close()
