"""Text PostgreSQL cannot store is refused at the edge: 422 `invalid`, never a 500.

NUL (U+0000) cannot be in a PostgreSQL text value and an unpaired surrogate (U+D800 to
U+DFFF alone) cannot be encoded as UTF-8. Every text field of every REST body and form
refuses both, on anonymous endpoints too, and nothing is stored.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from tests.rest.expect import error_of
from tests.support import Api

# Raw JSON escapes: json.dumps would refuse nothing, but httpx's `json=` cannot carry a
# lone surrogate, so bodies are sent as bytes with the escape spelled out.
BAD = {"nul": "a\\u0000b", "lone-high-surrogate": "a\\ud800b", "lone-low-surrogate": "\\udfffab"}
QUESTION: dict[str, Any] = {
    "subject": "biology",
    "topic": "Cell",
    "difficulty": "easy",
    "prompt": "Powerhouse of the cell?",
    "options": ["Mitochondria", "Nucleus", "Ribosome", "Golgi body"],
    "correct_index": 0,
    "explanation": "It makes ATP.",
}
MARK = "@@BAD@@"


def _raw(payload: dict[str, Any], escape: str) -> bytes:
    return json.dumps(payload).replace(MARK, escape).encode()


async def _post_raw(
    api: Api, method: str, path: str, payload: dict[str, Any], escape: str, **headers: str
) -> Any:
    return await api.http.request(
        method,
        path,
        content=_raw(payload, escape),
        headers={**headers, "Content-Type": "application/json"},
    )


@pytest.mark.parametrize("escape", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("field", ["email", "password", "display_name"])
async def test_register_refuses_nul_and_lone_surrogates(api: Api, escape: str, field: str) -> None:
    payload = {
        "email": f"asha-{secrets.token_hex(4)}@example.com",
        "password": "correct horse battery",
        "display_name": "Asha",
    }
    payload[field] = payload[field][:3] + MARK + payload[field][3:]
    r = await _post_raw(api, "POST", "/api/v1/auth/register", payload, escape)
    error = error_of(r, 422, "invalid")
    assert error["details"][0]["field"] == f"body.{field}", error


@pytest.mark.parametrize(
    "form",
    [
        "username=asha%00@example.com&password=whatever1",
        "username=asha@example.com&password=what%00ever1",
    ],
    ids=["username", "password"],
)
async def test_login_refuses_nul_in_the_form(api: Api, form: str) -> None:
    # No surrogate case: a form is percent-encoded bytes, decoded as UTF-8 with invalid
    # sequences replaced (U+FFFD), so a lone surrogate cannot arrive through one.
    r = await api.http.post(
        "/api/v1/auth/token",
        content=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    error = error_of(r, 422, "invalid")
    assert error["details"][0]["field"].startswith("body."), error


@pytest.mark.parametrize("escape", BAD.values(), ids=BAD.keys())
async def test_refresh_and_logout_refuse_bad_text_in_tokens(api: Api, escape: str) -> None:
    asha = await api.user("Asha")
    r = await _post_raw(api, "POST", "/api/v1/auth/refresh", {"refresh_token": MARK}, escape)
    error_of(r, 422, "invalid")
    r = await _post_raw(
        api, "POST", "/api/v1/auth/logout", {"refresh_token": MARK}, escape, **asha.headers
    )
    error_of(r, 422, "invalid")


@pytest.mark.parametrize("escape", BAD.values(), ids=BAD.keys())
async def test_room_names_and_invite_codes_refuse_bad_text(api: Api, escape: str) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    for method, path, payload in (
        ("POST", "/api/v1/rooms", {"name": f"Bio {MARK}"}),
        ("PATCH", f"/api/v1/rooms/{room_id}", {"name": f"Bio {MARK}"}),
        ("POST", "/api/v1/rooms/join", {"invite_code": f"abcd{MARK}"}),
    ):
        r = await _post_raw(api, method, path, payload, escape, **asha.headers)
        error_of(r, 422, "invalid")
    rooms = await api.http.get("/api/v1/rooms", headers=asha.headers)
    assert [room["name"] for room in rooms.json()] == ["Biology crew"]


@pytest.mark.parametrize("escape", BAD.values(), ids=BAD.keys())
async def test_messages_refuse_bad_text_in_body_and_client_id(api: Api, escape: str) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    path = f"/api/v1/rooms/{room_id}/messages"
    for payload in ({"body": f"hi {MARK}"}, {"body": "hi", "client_id": f"c-{MARK}"}):
        r = await _post_raw(api, "POST", path, payload, escape, **asha.headers)
        error_of(r, 422, "invalid")
    history = await api.http.get(path, headers=asha.headers)
    assert history.json()["items"] == []


@pytest.mark.parametrize("escape", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("field", ["topic", "prompt", "option", "explanation"])
async def test_quiz_and_question_text_refuses_bad_text(api: Api, escape: str, field: str) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    question = dict(QUESTION, options=list(QUESTION["options"]))
    if field == "option":
        question["options"][1] = f"Nucleus {MARK}"
    else:
        question[field] = f"{question[field]} {MARK}"
    quizzes = f"/api/v1/rooms/{room_id}/quizzes"
    r = await _post_raw(
        api,
        "POST",
        quizzes,
        {"title": "Cells", "subject": "biology", "questions": [question]},
        escape,
        **asha.headers,
    )
    error_of(r, 422, "invalid")
    r = await _post_raw(
        api, "POST", quizzes, {"title": f"Cells {MARK}", "subject": "biology"}, escape,
        **asha.headers,
    )  # fmt: skip
    error_of(r, 422, "invalid")

    created = await api.http.post(
        quizzes, json={"title": "Cells", "subject": "biology"}, headers=asha.headers
    )
    quiz_id = created.json()["id"]
    r = await _post_raw(
        api, "POST", f"/api/v1/quizzes/{quiz_id}/questions", question, escape, **asha.headers
    )
    error_of(r, 422, "invalid")
    r = await _post_raw(
        api, "PATCH", f"/api/v1/quizzes/{quiz_id}", {"title": f"T {MARK}"}, escape, **asha.headers
    )
    error_of(r, 422, "invalid")
    added = await api.http.post(
        f"/api/v1/quizzes/{quiz_id}/questions", json=QUESTION, headers=asha.headers
    )
    patch = {"options": question["options"]} if field == "option" else {field: question[field]}
    r = await _post_raw(
        api, "PATCH", f"/api/v1/questions/{added.json()['id']}", patch, escape, **asha.headers
    )
    error_of(r, 422, "invalid")
    stored = await api.http.get(f"/api/v1/quizzes/{quiz_id}", headers=asha.headers)
    assert stored.json()["title"] == "Cells"
    assert [q["prompt"] for q in stored.json()["questions"]] == [QUESTION["prompt"]]
    assert stored.json()["questions"][0]["options"] == QUESTION["options"]
