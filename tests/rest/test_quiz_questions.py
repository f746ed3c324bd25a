"""A quiz's questions over the real API: validation, adding, changing, deleting."""

from __future__ import annotations

from typing import Any

import pytest

from tests.rest.quizzes_api import error_code, make_quiz, question
from tests.support import Api

# --- question validation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"options": ["A", "B", "C"]}, "options"),
        ({"options": ["A", "B", "C", "D", "E"]}, "options"),
        ({"options": ["A", "B", "  ", "D"]}, "options.2"),
        ({"options": ["A", "B", "a", "D"]}, "options"),
        ({"options": ["A", "B", "C", "D" * 501]}, "options.3"),
        ({"correct_index": 4}, "correct_index"),
        ({"correct_index": -1}, "correct_index"),
        ({"difficulty": "brutal"}, "difficulty"),
        ({"subject": "maths"}, "subject"),
        ({"topic": ""}, "topic"),
        ({"prompt": "x" * 2001}, "prompt"),
        ({"explanation": "x" * 2001}, "explanation"),
    ],
)
async def test_invalid_question_is_refused(api: Api, change: dict[str, Any], field: str) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    body = {"title": "Cells", "subject": "biology", "questions": [question(**change)]}
    r = await api.http.post(f"/api/v1/rooms/{room}/quizzes", json=body, headers=asha.headers)
    assert r.status_code == 422 and error_code(r) == "invalid", r.text
    fields = [d["field"] for d in r.json()["error"]["details"]]
    assert f"body.questions.0.{field}" in fields, fields
    listed = await api.http.get(f"/api/v1/rooms/{room}/quizzes", headers=asha.headers)
    assert listed.json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"title": "", "subject": "biology"},
        {"title": "x" * 201, "subject": "biology"},
        {"title": "Cells", "subject": "astronomy"},
        {"title": "Cells"},
    ],
)
async def test_invalid_quiz_is_refused(api: Api, body: dict[str, Any]) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    r = await api.http.post(f"/api/v1/rooms/{room}/quizzes", json=body, headers=asha.headers)
    assert r.status_code == 422 and error_code(r) == "invalid", r.text


# --- question CRUD ------------------------------------------------------------------------


async def test_added_question_goes_after_the_last_one(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    quiz = await make_quiz(api, asha, room, 0, 1)
    r = await api.http.post(
        f"/api/v1/quizzes/{quiz['id']}/questions",
        json=question("Newest", 3, subject="zoology", difficulty="hard"),
        headers=asha.headers,
    )
    assert r.status_code == 201, r.text
    added = r.json()
    assert added["quiz_id"] == quiz["id"] and added["position"] == 2
    assert (added["subject"], added["difficulty"], added["correct_index"]) == ("zoology", "hard", 3)
    r = await api.http.get(f"/api/v1/quizzes/{quiz['id']}", headers=ravi.headers)
    assert [q["prompt"] for q in r.json()["questions"]] == ["Q0", "Q1", "Newest"]
    assert r.json()["question_count"] == 3


async def test_patch_question_changes_only_the_given_fields(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    quiz = await make_quiz(api, asha, room, 0)
    before = quiz["questions"][0]
    change = {"options": ["W", "X", "Y", "Z"], "correct_index": 2, "explanation": "Because Y."}
    r = await api.http.patch(f"/api/v1/questions/{before['id']}", json=change, headers=asha.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {**before, **change}
    r = await api.http.get(f"/api/v1/quizzes/{quiz['id']}", headers=asha.headers)
    assert r.json()["questions"] == [{**before, **change}]


async def test_patch_question_refuses_nulls_and_bad_values(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    quiz = await make_quiz(api, asha, room, 0)
    qid = quiz["questions"][0]["id"]
    for change in ({"prompt": None}, {"correct_index": 4}, {"options": ["A", "B", "C"]}, {}):
        r = await api.http.patch(f"/api/v1/questions/{qid}", json=change, headers=asha.headers)
        assert r.status_code == 422 and error_code(r) == "invalid", (change, r.text)
    r = await api.http.get(f"/api/v1/quizzes/{quiz['id']}", headers=asha.headers)
    assert r.json()["questions"] == quiz["questions"]


async def test_deleted_question_leaves_the_quiz(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    quiz = await make_quiz(api, asha, room, 0, 1, 2)
    middle = quiz["questions"][1]["id"]
    r = await api.http.delete(f"/api/v1/questions/{middle}", headers=asha.headers)
    assert r.status_code == 204
    r = await api.http.get(f"/api/v1/quizzes/{quiz['id']}", headers=asha.headers)
    assert [q["prompt"] for q in r.json()["questions"]] == ["Q0", "Q2"]
    again = await api.http.delete(f"/api/v1/questions/{middle}", headers=asha.headers)
    assert again.status_code == 404 and error_code(again) == "not_found"
    patch = await api.http.patch(
        f"/api/v1/questions/{middle}", json={"topic": "Gone"}, headers=asha.headers
    )
    assert patch.status_code == 404
