"""Notifications (issue 11, item 5): the personal `user:{id}` channel on WebSocket and
SSE, resumable with `since`; listing and mark-as-read with unread counts delivered live;
and every durable kind, raised by what causes it. Nothing of another user's arrives."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.bot.support import conversation, read_answer
from tests.care.support import doctor, share
from tests.conftest import ApiFactory
from tests.realtime.sse_api import SseEvent, SseStream
from tests.rest.expect import error_of
from tests.study.helpers import FAST, group, quiz, session, start
from tests.support import Api, User, WsClient

RASH = "I have had an itchy red rash on my arms for two weeks"


async def inbox(api: Api, user: User) -> WsClient:
    ws = await api.ws(user)
    reply = await ws.request({"type": "subscribe", "channel": f"user:{user.id}"})
    assert reply["type"] == "subscribed", reply
    return ws


async def next_notification(ws: WsClient, within: float = 10) -> dict[str, Any]:
    while True:
        frame = await ws.recv(within)
        if frame["type"] == "notification":
            return frame
        assert frame["type"] == "unread", frame


async def listed(api: Api, user: User, **params: Any) -> dict[str, Any]:
    r = await api.http.get("/api/v1/notifications", params=params, headers=user.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_only_the_user_may_subscribe_to_their_channel(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    ws = await api.ws(asha)
    for channel in (f"user:{ravi.id}", "user:999999"):
        reply = await ws.request({"type": "subscribe", "channel": channel})
        assert reply["type"] == "error" and reply["code"] == "forbidden", reply
        assert "Ravi" not in reply["message"]
    await ws.close()


async def test_sharing_and_revoking_notify_the_doctor_live_and_nobody_else(
    api: Api, db: AsyncEngine
) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    doc = await doctor(api, db, "Dr. Quill")
    medic, bystander = await inbox(api, doc), await inbox(api, ravi)
    room = await conversation(api, asha)
    await share(api, asha, room, doc, "read")
    shared = await next_notification(medic)
    assert shared["channel"] == f"user:{doc.id}" and shared["seq"] == 1
    assert shared["kind"] == "conversation_shared" and shared["room_id"] == room
    assert shared["data"] == {"patient": {"id": asha.id, "name": "Asha"}, "mode": "read"}
    assert shared["read"] is False
    r = await api.http.delete(f"/api/v1/rooms/{room}/shares/{doc.id}", headers=asha.headers)
    assert r.status_code == 204
    revoked = await next_notification(medic)
    assert (revoked["kind"], revoked["seq"]) == ("share_revoked", 2)
    # Ravi's channel got none of it: the first notification he sees is his own.
    await doctor_post(api, ravi, doc)
    first = await next_notification(bystander)
    assert first["channel"] == f"user:{ravi.id}" and first["kind"] == "doctor_replied"
    await medic.close()
    await bystander.close()


async def doctor_post(api: Api, patient: User, doc: User) -> int:
    room = await conversation(api, patient)
    await share(api, patient, room, doc, "participate")
    sent = await api.post(doc, room, "How are you feeling today?")
    seq: int = sent["seq"]
    return seq


async def test_a_reconnect_with_since_gets_what_was_missed_exactly(
    api: Api, db: AsyncEngine
) -> None:
    asha = await api.user("Asha")
    doc = await doctor(api, db, "Dr. Quill")
    ws = await inbox(api, asha)
    await doctor_post(api, asha, doc)
    first = await next_notification(ws)
    await ws.close()
    await doctor_post(api, asha, doc)  # missed while away
    await doctor_post(api, asha, doc)
    back = await api.ws(asha)
    reply = await back.request(
        {"type": "subscribe", "channel": f"user:{asha.id}", "since": first["seq"]}
    )
    assert reply["type"] == "subscribed"
    missed = [await next_notification(back), await next_notification(back)]
    assert [n["seq"] for n in missed] == [first["seq"] + 1, first["seq"] + 2]
    assert all(n["kind"] == "doctor_replied" for n in missed)
    await back.close()


async def test_the_sse_feed_resumes_with_last_event_id(api: Api, db: AsyncEngine) -> None:
    asha = await api.user("Asha")
    doc = await doctor(api, db, "Dr. Quill")
    for _ in range(3):
        await doctor_post(api, asha, doc)
    headers = {"Accept": "text/event-stream", "Last-Event-ID": "1", **asha.headers}
    async with api.http.stream("GET", "/api/v1/notifications/events", headers=headers) as r:
        assert r.status_code == 200
        s = SseStream(r)
        assert (await s.next()).event == "subscribed"
        got: list[SseEvent] = []
        while len(got) < 2:
            ev = await s.next()
            if ev.event == "notification":
                got.append(ev)
        assert [e.id for e in got] == ["2", "3"]
        assert got[0].json["kind"] == "doctor_replied"
    error_of(await api.http.get("/api/v1/notifications/events"), 401, "unauthorized")


async def test_listing_marking_read_and_unread_counts_per_room(api: Api, db: AsyncEngine) -> None:
    asha = await api.user("Asha")
    doc = await doctor(api, db, "Dr. Quill")
    rooms = [await conversation(api, asha), await conversation(api, asha)]
    for room in rooms:
        await share(api, asha, room, doc, "participate")
    await api.post(doc, rooms[0], "one")
    await api.post(doc, rooms[0], "two")
    await api.post(doc, rooms[1], "three")
    page = await listed(api, asha)
    assert [n["seq"] for n in page["items"]] == [3, 2, 1]
    assert page["unread"] == {
        "total": 3,
        "rooms": [{"room_id": rooms[0], "count": 2}, {"room_id": rooms[1], "count": 1}],
    }
    ws = await inbox(api, asha)
    r = await api.http.post("/api/v1/notifications/read", json={"seq": 2}, headers=asha.headers)
    assert r.status_code == 200, r.text
    assert r.json()["marked"] == 2
    live = await ws.expect("unread", skip=frozenset())
    assert live == {
        "type": "unread",
        "channel": f"user:{asha.id}",
        "total": 1,
        "rooms": [{"room_id": rooms[1], "count": 1}],
    }
    unread = await listed(api, asha, unread="true")
    assert [n["seq"] for n in unread["items"]] == [3]
    r = await api.http.post("/api/v1/notifications/read", json={"seq": 99}, headers=asha.headers)
    error_of(r, 422, "invalid")
    await ws.close()


async def test_a_finished_answer_is_notified_only_when_the_owner_is_not_watching(
    api: Api,
) -> None:
    asha = await api.user("Asha")
    room = await conversation(api, asha)
    watcher = await api.ws(asha)
    await watcher.subscribe(f"room:{room}")
    await watcher.send_message(f"room:{room}", RASH)
    await read_answer(watcher)
    await watcher.close()
    assert (await listed(api, asha))["items"] == []
    ws = await inbox(api, asha)
    posted = await api.post(asha, room, RASH + " and now also on my legs")  # over REST, away
    note = await next_notification(ws, within=30)
    assert note["kind"] == "answer_finished" and note["room_id"] == room
    assert note["data"]["status"] == "complete" and note["data"]["seq"] > posted["seq"]
    assert "rash" not in str(note["data"])  # no health data in notifications
    await ws.close()


async def test_a_doctor_joining_live_notifies_the_patient_once(api: Api, db: AsyncEngine) -> None:
    asha = await api.user("Asha")
    doc = await doctor(api, db, "Dr. Quill")
    room = await conversation(api, asha)
    await share(api, asha, room, doc, "participate")
    ws = await inbox(api, asha)
    for _ in range(2):
        medic = await api.ws(doc)
        await medic.subscribe(f"room:{room}")
        await medic.close()
    joined = await next_notification(ws)
    assert joined["kind"] == "doctor_joined"
    assert joined["data"] == {"doctor": {"id": doc.id, "name": "Dr. Quill"}}
    await doctor_post(api, asha, doc)  # a fence: the second subscribe notified nothing
    assert (await next_notification(ws))["kind"] == "doctor_replied"
    await ws.close()


async def test_quizzes_posted_and_starting_notify_the_other_members(api_with: ApiFactory) -> None:
    async with api_with(**FAST) as api:
        owner, (m1, m2), room = await group(api)
        inboxes = [await inbox(api, m) for m in (m1, m2)]
        own = await inbox(api, owner)
        made = await quiz(api, owner, room, 0)
        for ws in inboxes:
            note = await next_notification(ws)
            assert note["kind"] == "quiz_posted" and note["room_id"] == room
            assert note["data"] == {"quiz_id": made["id"], "title": "Live cells"}
        sid = await session(api, owner, made["id"])
        await start(api, owner, sid)
        for ws in inboxes:
            note = await next_notification(ws)
            assert note["kind"] == "quiz_starting"
            assert note["data"] == {"session_id": sid, "quiz_id": made["id"]}
        assert (await listed(api, owner))["items"] == []  # the actor is not notified
        for ws in (*inboxes, own):
            await ws.close()
