"""The symptom history (issue 11, item 3): findings from each triage, the owner's CRUD,
and a doctor's read only with a share (logged for the patient)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.bot.support import conversation, read_answer
from tests.care.support import access_log, doctor, share
from tests.rest.expect import error_of
from tests.support import Api, User

HEADACHE = "Severe headache 8/10 since yesterday, no fever"


async def history(api: Api, user: User) -> list[dict[str, Any]]:
    r = await api.http.get("/api/v1/me/symptoms", headers=user.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()
    return items


async def test_each_triage_records_structured_findings_for_the_patient(api: Api) -> None:
    asha = await api.user("Asha")
    room = await conversation(api, asha)
    ws = await api.ws(asha)
    await ws.subscribe(f"room:{room}")
    ack = await ws.send_message(f"room:{room}", HEADACHE)
    await read_answer(ws)
    entries = {e["symptom"]: e for e in await history(api, asha)}
    assert set(entries) == {"headache", "fever"}
    headache, fever = entries["headache"], entries["fever"]
    assert headache["body_site"] == "head" and headache["severity"] == 8
    assert headache["duration"] == "since yesterday" and headache["negated"] is False
    assert fever["negated"] is True
    assert headache["room_id"] == room and headache["seq"] == ack["seq"]
    # Somebody else's history is their own: another user sees nothing of it.
    ravi = await api.user("Ravi")
    assert await history(api, ravi) == []
    await ws.close()


async def test_the_owner_adds_corrects_and_deletes_entries(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    r = await api.http.post(
        "/api/v1/me/symptoms",
        json={"symptom": "knee pain", "body_site": "knee", "severity": 4, "duration": "3 days"},
        headers=asha.headers,
    )
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["symptom"] == "knee pain" and entry["updated_at"] is None
    r = await api.http.patch(
        f"/api/v1/me/symptoms/{entry['id']}",
        json={"severity": 6, "body_site": None},
        headers=asha.headers,
    )
    assert r.status_code == 200, r.text
    fixed = r.json()
    assert fixed["severity"] == 6 and fixed["body_site"] is None
    assert fixed["symptom"] == "knee pain" and fixed["updated_at"] is not None
    # Another user can neither change nor delete it, nor tell that it exists.
    r = await api.http.patch(f"/api/v1/me/symptoms/{entry['id']}", json={"severity": 1},
                             headers=ravi.headers)  # fmt: skip
    error_of(r, 404, "not_found")
    error_of(await api.http.delete(f"/api/v1/me/symptoms/{entry['id']}", headers=ravi.headers),
             404, "not_found")  # fmt: skip
    r = await api.http.delete(f"/api/v1/me/symptoms/{entry['id']}", headers=asha.headers)
    assert r.status_code == 204
    assert await history(api, asha) == []


async def test_bad_entries_are_refused(api: Api) -> None:
    asha = await api.user("Asha")
    for body in ({"symptom": "pain", "severity": 11}, {"symptom": ""}, {"severity": 3}):
        r = await api.http.post("/api/v1/me/symptoms", json=body, headers=asha.headers)
        error_of(r, 422, "invalid")


async def test_a_doctor_reads_a_patients_history_only_with_a_share_and_it_is_logged(
    api: Api, db: AsyncEngine
) -> None:
    asha = await api.user("Asha")
    doc = await doctor(api, db, "Dr. Quill")
    other = await doctor(api, db, "Dr. Other")
    r = await api.http.post("/api/v1/me/symptoms", json={"symptom": "rash"}, headers=asha.headers)
    assert r.status_code == 201
    url = f"/api/v1/patients/{asha.id}/symptoms"
    error_of(await api.http.get(url, headers=doc.headers), 403, "forbidden")
    room = await conversation(api, asha)
    await share(api, asha, room, doc)
    r = await api.http.get(url, headers=doc.headers)
    assert r.status_code == 200, r.text
    assert [e["symptom"] for e in r.json()] == ["rash"]
    error_of(await api.http.get(url, headers=other.headers), 403, "forbidden")
    error_of(await api.http.get("/api/v1/patients/999999/symptoms", headers=doc.headers),
             404, "not_found")  # fmt: skip
    (logged,) = await access_log(api, asha)
    assert logged["actor"] == {"id": doc.id, "name": "Dr. Quill"}
    assert (logged["resource"], logged["action"], logged["room_id"]) == ("symptoms", "read", None)
    # Revoked: the history is closed to the doctor again.
    r = await api.http.delete(f"/api/v1/rooms/{room}/shares/{doc.id}", headers=asha.headers)
    assert r.status_code == 204
    error_of(await api.http.get(url, headers=doc.headers), 403, "forbidden")
