"""The directory of doctors (issue 11, item 1): filters, profiles, the seed, and the
doctors a bot answer lists."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from app.security import passwords
from app.settings import Settings
from domain.seed.doctors import DOCTORS, seed_doctors
from models.db import make_sessionmaker
from tests.bot.support import conversation, read_answer
from tests.care.support import doctor
from tests.rest.expect import error_of
from tests.support import Api

RASH = "I have had an itchy red rash on my arms for two weeks"


async def test_the_directory_filters_by_specialty_city_and_availability(
    api: Api, db: AsyncEngine
) -> None:
    quill = await doctor(api, db, "Dr. Quill", "dermatology", "Pune")
    vale = await doctor(api, db, "Dr. Vale", "dermatology", "Mumbai")
    await doctor(api, db, "Dr. Away", "dermatology", "Pune", available=False)
    brook = await doctor(api, db, "Dr. Brook", "cardiology", "Pune")
    asha = await api.user("Asha")

    async def names(**params: str) -> list[str]:
        r = await api.http.get("/api/v1/doctors", params=params, headers=asha.headers)
        assert r.status_code == 200, r.text
        return [d["name"] for d in r.json()]

    assert await names() == ["Dr. Away", "Dr. Brook", "Dr. Quill", "Dr. Vale"]
    assert await names(specialty="dermatology", available="true") == ["Dr. Quill", "Dr. Vale"]
    assert await names(city="pune", available="true") == ["Dr. Brook", "Dr. Quill"]
    assert await names(specialty="cardiology") == ["Dr. Brook"]
    r = await api.http.get("/api/v1/doctors", params={"specialty": "dermatology", "city": "Mumbai"},
                           headers=asha.headers)  # fmt: skip
    assert r.json() == [
        {"id": vale.id, "name": "Dr. Vale", "specialty": "dermatology", "city": "Mumbai",
         "languages": ["en"], "available": True},
    ]  # fmt: skip
    assert quill.id != brook.id


async def test_the_directory_needs_a_signed_in_user_and_a_known_specialty(
    api: Api, db: AsyncEngine
) -> None:
    error_of(await api.http.get("/api/v1/doctors"), 401, "unauthorized")
    asha = await api.user("Asha")
    r = await api.http.get(
        "/api/v1/doctors", params={"specialty": "astrology"}, headers=asha.headers
    )
    error_of(r, 422, "invalid")


async def test_a_doctor_edits_their_own_profile_and_nobody_else_has_one(
    api: Api, db: AsyncEngine
) -> None:
    doc = await doctor(api, db, "Dr. Quill", "dermatology", "Pune")
    r = await api.http.put(
        "/api/v1/doctors/me",
        json={"available": False, "city": "Nashik", "languages": ["en", "mr"]},
        headers=doc.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "id": doc.id, "name": "Dr. Quill", "specialty": "dermatology", "city": "Nashik",
        "languages": ["en", "mr"], "available": False,
    }  # fmt: skip
    patient = await api.user("Asha")
    r = await api.http.put("/api/v1/doctors/me", json={"available": True}, headers=patient.headers)
    error_of(r, 403, "forbidden")
    r = await api.http.put("/api/v1/doctors/me", json={"specialty": "x"}, headers=doc.headers)
    error_of(r, 422, "invalid")


async def test_the_seed_adds_clearly_fictional_doctors_once(
    api: Api, db: AsyncEngine, settings: Settings
) -> None:
    async with make_sessionmaker(db)() as session, session.begin():
        assert await seed_doctors(session, passwords(settings)) == len(DOCTORS)
    async with make_sessionmaker(db)() as session, session.begin():
        assert await seed_doctors(session, passwords(settings)) == 0
    asha = await api.user("Asha")
    listed = (await api.http.get("/api/v1/doctors", headers=asha.headers)).json()
    assert len(listed) == len(DOCTORS)
    assert all("(fictional)" in d["name"] for d in listed)


async def test_the_bot_answer_lists_available_doctors_of_its_specialty(
    api: Api, db: AsyncEngine
) -> None:
    for name in ("Dr. A", "Dr. B", "Dr. C", "Dr. D"):
        await doctor(api, db, name, "dermatology")
    await doctor(api, db, "Dr. Off", "dermatology", available=False)
    await doctor(api, db, "Dr. Heart", "cardiology")
    asha = await api.user("Asha")
    room = await conversation(api, asha)
    ws = await api.ws(asha)
    await ws.subscribe(f"room:{room}")
    await ws.send_message(f"room:{room}", RASH)
    answer = await read_answer(ws)
    assert answer.message is not None
    assert answer.message["triage"]["specialty"]["code"] == "dermatology"
    listed = answer.message["doctors"]
    assert [d["name"] for d in listed] == ["Dr. A", "Dr. B", "Dr. C"]
    assert all(d["specialty"] == "dermatology" and d["available"] for d in listed)
    # The same list is durable: history shows it beside `triage`.
    r = await api.http.get(f"/api/v1/rooms/{room}/messages", headers=asha.headers)
    assert r.json()["items"][-1]["doctors"] == listed
    await ws.close()


async def test_an_answer_with_no_available_doctor_lists_none(api: Api, db: AsyncEngine) -> None:
    await doctor(api, db, "Dr. Heart", "cardiology")
    asha = await api.user("Asha")
    room = await conversation(api, asha)
    ws = await api.ws(asha)
    await ws.subscribe(f"room:{room}")
    await ws.send_message(f"room:{room}", RASH)
    answer = await read_answer(ws)
    assert answer.message is not None and "doctors" not in answer.message
    await ws.close()
