"""Consultation shares over REST (issue 11, items 2 and 4): who may share with whom, what
a `read` share allows, revocation, and the access log of a doctor's reads."""

from __future__ import annotations

from httpx import Response
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.bot.support import conversation
from tests.care.support import access_log, doctor, share
from tests.rest.expect import error_of
from tests.support import Api


async def test_bad_shares_get_the_protocols_codes(api: Api, db: AsyncEngine) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    doc = await doctor(api, db)
    room = await conversation(api, asha)
    url = f"/api/v1/rooms/{room}/shares"

    async def post(owner_headers: dict[str, str], doctor_id: int, mode: str = "read") -> Response:
        return await api.http.post(
            url, json={"doctor_id": doctor_id, "mode": mode}, headers=owner_headers
        )

    error = error_of(await post(asha.headers, ravi.id), 422, "invalid")  # not a doctor
    assert "Ravi" not in error["message"]
    error_of(await post(asha.headers, 999_999), 404, "not_found")
    error_of(await post(asha.headers, doc.id, "write"), 422, "invalid")
    error_of(await post(ravi.headers, doc.id), 403, "forbidden")  # not the owner's room
    group = await api.room(asha)
    r = await api.http.post(f"/api/v1/rooms/{group}/shares", json={"doctor_id": doc.id},
                            headers=asha.headers)  # fmt: skip
    error_of(r, 422, "invalid")  # only a bot conversation is shared
    await share(api, asha, room, doc)
    # The doctor, a member now, still cannot manage the shares.
    error_of(await api.http.get(url, headers=doc.headers), 403, "forbidden")
    r = await api.http.delete(f"{url}/{doc.id}", headers=doc.headers)
    error_of(r, 403, "forbidden")
    error_of(await api.http.delete(f"{url}/{ravi.id}", headers=asha.headers), 404, "not_found")


async def test_a_read_share_shows_the_conversation_but_refuses_writing(
    api: Api, db: AsyncEngine
) -> None:
    asha = await api.user("Asha")
    doc = await doctor(api, db, "Dr. Quill")
    room = await conversation(api, asha)
    hidden = await conversation(api, asha)
    await api.post(asha, room, "no fever, just tired")
    history = f"/api/v1/rooms/{room}/messages"
    error_of(await api.http.get(history, headers=doc.headers), 403, "forbidden")
    shared = await share(api, asha, room, doc)
    assert (shared["doctor_id"], shared["mode"]) == (doc.id, "read")
    r = await api.http.get(history, headers=doc.headers)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["body"] == "no fever, just tired"
    r = await api.http.post(f"{history}", json={"body": "hello"}, headers=doc.headers)
    error = error_of(r, 403, "forbidden")
    assert "tired" not in error["message"]
    # A conversation that was not shared stays closed; the doctor's room list shows only
    # the shared one.
    error_of(await api.http.get(f"/api/v1/rooms/{hidden}/messages", headers=doc.headers),
             403, "forbidden")  # fmt: skip
    rooms = (await api.http.get("/api/v1/rooms", headers=doc.headers)).json()
    assert [(r["id"], r["my_role"]) for r in rooms] == [(room, "doctor")]
    listed = (await api.http.get(f"/api/v1/rooms/{room}/shares", headers=asha.headers)).json()
    assert [(s["doctor_id"], s["doctor_name"], s["mode"]) for s in listed] == [
        (doc.id, "Dr. Quill", "read")
    ]


async def test_participate_lets_the_doctor_write_and_revoking_closes_rest_access(
    api: Api, db: AsyncEngine
) -> None:
    asha = await api.user("Asha")
    doc = await doctor(api, db, "Dr. Quill")
    room = await conversation(api, asha)
    await share(api, asha, room, doc, "participate")
    sent = await api.post(doc, room, "How long has it itched?")
    assert sent["author"] == {"id": doc.id, "name": "Dr. Quill"}
    r = await api.http.delete(f"/api/v1/rooms/{room}/shares/{doc.id}", headers=asha.headers)
    assert r.status_code == 204
    error_of(await api.http.get(f"/api/v1/rooms/{room}/messages", headers=doc.headers),
             403, "forbidden")  # fmt: skip
    r = await api.http.post(f"/api/v1/rooms/{room}/messages", json={"body": "still here?"},
                            headers=doc.headers)  # fmt: skip
    error_of(r, 403, "forbidden")


async def test_the_access_log_records_every_read_by_a_doctor_and_none_by_the_owner(
    api: Api, db: AsyncEngine
) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    doc = await doctor(api, db, "Dr. Quill")
    room = await conversation(api, asha)
    await api.post(asha, room, "itchy rash on my arm")
    await api.http.get(f"/api/v1/rooms/{room}/messages", headers=asha.headers)
    assert await access_log(api, asha) == []
    await share(api, asha, room, doc)
    r = await api.http.get(f"/api/v1/rooms/{room}/messages", headers=doc.headers)
    assert r.status_code == 200
    ws = await api.ws(doc)
    await ws.subscribe(f"room:{room}")
    await ws.close()
    logged = await access_log(api, asha)
    assert [(e["actor"]["id"], e["resource"], e["action"], e["room_id"]) for e in logged] == [
        (doc.id, "conversation", "subscribe", room),
        (doc.id, "conversation", "history", room),
    ]
    assert all(e["at"] for e in logged)
    assert await access_log(api, ravi) == []  # nobody else sees it
    error_of(await api.http.get("/api/v1/me/access-log"), 401, "unauthorized")
