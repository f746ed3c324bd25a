"""Ids, cursors and tokens beyond what the server can hold are refused at the edge.

Room, quiz, question and attempt ids are 32-bit columns and message cursors (`seq`) are
64-bit: a number outside the column's range is 422 `invalid` (never a 500 from PostgreSQL).
A path segment that is not a number names no resource: 404 `not_found`. A bearer token
longer than 4096 characters (the WebSocket `auth` limit) is 401 `unauthorized`.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.rest.expect import error_of
from tests.support import Api, User

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
QUESTION = {
    "subject": "biology",
    "topic": "Cell",
    "difficulty": "easy",
    "prompt": "Powerhouse of the cell?",
    "options": ["Mitochondria", "Nucleus", "Ribosome", "Golgi body"],
    "correct_index": 0,
}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/rooms/{id}", None),
        ("PATCH", "/api/v1/rooms/{id}", {"name": "Bio"}),
        ("DELETE", "/api/v1/rooms/{id}", None),
        ("POST", "/api/v1/rooms/{id}/leave", None),
        ("GET", "/api/v1/rooms/{id}/members", None),
        ("PUT", "/api/v1/rooms/{id}/read", {"seq": 0}),
        ("GET", "/api/v1/rooms/{id}/messages", None),
        ("POST", "/api/v1/rooms/{id}/messages", {"body": "hi"}),
        ("GET", "/api/v1/rooms/{id}/quizzes", None),
        ("POST", "/api/v1/rooms/{id}/quizzes", {"title": "T", "subject": "biology"}),
        ("GET", "/api/v1/quizzes/{id}", None),
        ("PATCH", "/api/v1/quizzes/{id}", {"title": "T"}),
        ("DELETE", "/api/v1/quizzes/{id}", None),
        ("POST", "/api/v1/quizzes/{id}/questions", QUESTION),
        ("POST", "/api/v1/quizzes/{id}/attempts", {"answers": []}),
        ("GET", "/api/v1/quizzes/{id}/attempts/me", None),
        ("PATCH", "/api/v1/questions/{id}", {"topic": "Cell"}),
        ("DELETE", "/api/v1/questions/{id}", None),
        ("GET", "/api/v1/attempts/{id}", None),
        ("GET", "/api/v1/rooms/{id}/events", None),
    ],
)
@pytest.mark.parametrize("value", [INT32_MAX + 1, 2**64, 10**30, 0])
async def test_an_id_outside_the_columns_range_is_invalid(
    api: Api, method: str, path: str, body: dict[str, Any] | None, value: int
) -> None:
    asha = await api.user("Asha")
    r = await api.http.request(
        method, path.format(id=value), json=body, headers=asha.headers, timeout=5
    )
    error = error_of(r, 422, "invalid")
    assert error["details"], error


async def test_the_largest_id_is_simply_not_found(api: Api) -> None:
    asha = await api.user("Asha")
    for path in ("rooms", "quizzes", "attempts"):
        r = await api.http.get(f"/api/v1/{path}/{INT32_MAX}", headers=asha.headers)
        error_of(r, 404, "not_found")


async def _room(api: Api) -> tuple[User, int]:
    asha = await api.user("Asha")
    return asha, await api.room(asha)


@pytest.mark.parametrize("cursor", ["after", "before"])
@pytest.mark.parametrize("value", [INT64_MAX + 1, 10**40])
async def test_a_history_cursor_beyond_64_bits_is_invalid(
    api: Api, cursor: str, value: int
) -> None:
    asha, room_id = await _room(api)
    r = await api.http.get(
        f"/api/v1/rooms/{room_id}/messages", params={cursor: value}, headers=asha.headers
    )
    error = error_of(r, 422, "invalid")
    assert error["details"][0]["field"] == f"query.{cursor}", error


@pytest.mark.parametrize("cursor", ["after", "before"])
async def test_the_largest_history_cursor_is_accepted(api: Api, cursor: str) -> None:
    asha, room_id = await _room(api)
    await api.post(asha, room_id, "hello")
    r = await api.http.get(
        f"/api/v1/rooms/{room_id}/messages", params={cursor: INT64_MAX}, headers=asha.headers
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == (1 if cursor == "before" else 0)


async def test_a_read_position_beyond_64_bits_is_invalid(api: Api) -> None:
    asha, room_id = await _room(api)
    r = await api.http.put(
        f"/api/v1/rooms/{room_id}/read", json={"seq": INT64_MAX + 1}, headers=asha.headers
    )
    error_of(r, 422, "invalid")


async def test_an_attempt_naming_a_question_id_beyond_32_bits_is_invalid(api: Api) -> None:
    asha, room_id = await _room(api)
    quiz = await api.http.post(
        f"/api/v1/rooms/{room_id}/quizzes",
        json={"title": "Cells", "subject": "biology", "questions": [QUESTION]},
        headers=asha.headers,
    )
    assert quiz.status_code == 201, quiz.text
    r = await api.http.post(
        f"/api/v1/quizzes/{quiz.json()['id']}/attempts",
        json={"answers": [{"question_id": INT32_MAX + 1, "selected_index": 0}]},
        headers=asha.headers,
    )
    error_of(r, 422, "invalid")


@pytest.mark.parametrize("segment", ["not-a-number", "-1", "1.5"])
async def test_a_path_segment_that_is_not_an_id_names_no_resource(api: Api, segment: str) -> None:
    asha = await api.user("Asha")
    r = await api.http.get(f"/api/v1/rooms/{segment}", headers=asha.headers)
    error_of(r, 404, "not_found")


# --- bearer token size ---------------------------------------------------------------------


async def test_a_bearer_token_over_4096_characters_is_unauthorized(api: Api) -> None:
    for path in ("/api/v1/users/me", "/api/v1/rooms"):
        r = await api.http.get(path, headers={"Authorization": "Bearer " + "a" * 4097})
        error = error_of(r, 401, "unauthorized")
        assert "4096" in error["message"], error


async def test_a_133_kb_authorization_header_is_refused_without_a_500(api: Api) -> None:
    r = await api.http.get("/api/v1/users/me", headers={"Authorization": "Bearer " + "x" * 133_000})
    error_of(r, 401, "unauthorized")
