"""Quizzes of study groups over the real API: create, list, change, delete, and who may."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.rest.quizzes_api import error_code, make_quiz, question, submit
from tests.servers import InProcessServer
from tests.support import Api

# --- quizzes ------------------------------------------------------------------------------


async def test_manager_creates_quiz_and_sees_the_answer_key(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    quiz = await make_quiz(api, asha, room, 1, 2, 0)
    assert quiz["room_id"] == room and quiz["created_by"] == asha.id
    assert quiz["title"] == "Cells" and quiz["subject"] == "biology"
    assert quiz["question_count"] == 3
    assert [q["prompt"] for q in quiz["questions"]] == ["Q0", "Q1", "Q2"]
    assert [q["position"] for q in quiz["questions"]] == [0, 1, 2]
    assert [q["correct_index"] for q in quiz["questions"]] == [1, 2, 0]
    r = await api.http.get(f"/api/v1/quizzes/{quiz['id']}", headers=asha.headers)
    assert r.status_code == 200
    assert [q["explanation"] for q in r.json()["questions"]] == [
        "Explanation of Q0",
        "Explanation of Q1",
        "Explanation of Q2",
    ]


async def test_member_sees_questions_without_answers(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    quiz = await make_quiz(api, asha, room, 1, 2)
    r = await api.http.get(f"/api/v1/quizzes/{quiz['id']}", headers=ravi.headers)
    assert r.status_code == 200
    questions = r.json()["questions"]
    assert [q["prompt"] for q in questions] == ["Q0", "Q1"]
    assert questions[0]["options"] == ["Ribosome", "Mitochondrion", "Golgi body", "Lysosome"]
    assert all(q["correct_index"] is None and q["explanation"] is None for q in questions)


async def test_admin_manages_quizzes_like_the_owner(api: Api, db: AsyncEngine) -> None:
    asha, meera = await api.user("Asha"), await api.user("Meera")
    room = await api.room(asha, meera)
    async with db.begin() as conn:
        await conn.execute(
            text("UPDATE memberships SET role = 'admin' WHERE room_id = :r AND user_id = :u"),
            {"r": room, "u": meera.id},
        )
    quiz = await make_quiz(api, meera, room, 3)
    assert quiz["created_by"] == meera.id
    r = await api.http.get(f"/api/v1/quizzes/{quiz['id']}", headers=meera.headers)
    assert r.json()["questions"][0]["correct_index"] == 3
    r = await api.http.delete(f"/api/v1/quizzes/{quiz['id']}", headers=meera.headers)
    assert r.status_code == 204


async def test_list_quizzes_newest_first_with_question_counts(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    first = await make_quiz(api, asha, room, 0, 1, 2, title="First")
    empty = await make_quiz(api, asha, room, title="Empty")
    other_room = await api.room(asha, name="Physics crew")
    await make_quiz(api, asha, other_room, 0, title="Elsewhere")
    r = await api.http.get(f"/api/v1/rooms/{room}/quizzes", headers=ravi.headers)
    assert r.status_code == 200
    assert r.json() == [
        {k: v for k, v in empty.items() if k != "questions"},
        {k: v for k, v in first.items() if k != "questions"},
    ]
    assert [q["question_count"] for q in r.json()] == [0, 3]


@contextmanager
def counting_queries(server: InProcessServer) -> Iterator[list[str]]:
    app = server.app
    assert isinstance(app, FastAPI)
    engine = app.state.services.engine.sync_engine
    statements: list[str] = []

    def on_execute(*args: Any) -> None:
        sql: str = args[2]
        # Only this feature's tables: the hub's background head checks must not count.
        if any(t in sql for t in ("quizzes", "questions", "attempts", "answers")):
            statements.append(sql)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


async def boards_quiet(server: InProcessServer, within: float = 10) -> None:
    """Wait until the leaderboard publisher (background queries after an attempt) is idle."""
    study = server.app.state.services.study  # type: ignore[attr-defined]
    for _ in range(int(within / 0.02)):
        if not study.boards.running:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError("the board publisher did not go quiet")


async def test_listing_quizzes_and_attempts_does_not_grow_queries_per_item(
    api: Api, server: InProcessServer
) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    one = await make_quiz(api, asha, room, 0, 1)
    await submit(api, asha, one["id"], [])
    await boards_quiet(server)
    with counting_queries(server) as few:
        assert (
            await api.http.get(f"/api/v1/rooms/{room}/quizzes", headers=asha.headers)
        ).is_success
        url = f"/api/v1/quizzes/{one['id']}/attempts/me"
        assert (await api.http.get(url, headers=asha.headers)).is_success
    for _ in range(4):
        await make_quiz(api, asha, room, 0, 1, 2)
        await submit(api, asha, one["id"], [])
    await boards_quiet(server)
    with counting_queries(server) as many:
        r = await api.http.get(f"/api/v1/rooms/{room}/quizzes", headers=asha.headers)
        assert len(r.json()) == 5
        r = await api.http.get(url, headers=asha.headers)
        assert len(r.json()) == 5
    assert few and len(many) == len(few), many


async def test_patch_quiz_changes_title_and_subject(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    quiz = await make_quiz(api, asha, room, 0)
    r = await api.http.patch(
        f"/api/v1/quizzes/{quiz['id']}",
        json={"title": "  Plant cells  ", "subject": "botany"},
        headers=asha.headers,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["subject"]) == ("Plant cells", "botany")
    assert r.json()["question_count"] == 1
    again = await api.http.get(f"/api/v1/quizzes/{quiz['id']}", headers=asha.headers)
    assert again.json()["title"] == "Plant cells"


async def test_patch_quiz_refuses_null_and_empty_bodies(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    quiz = await make_quiz(api, asha, room, 0)
    for body in ({"title": None}, {}):
        r = await api.http.patch(f"/api/v1/quizzes/{quiz['id']}", json=body, headers=asha.headers)
        assert r.status_code == 422 and error_code(r) == "invalid", r.text


async def test_delete_quiz_removes_it_and_its_attempts(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    quiz = await make_quiz(api, asha, room, 0)
    attempt = (await submit(api, asha, quiz["id"], [])).json()
    r = await api.http.delete(f"/api/v1/quizzes/{quiz['id']}", headers=asha.headers)
    assert r.status_code == 204
    r = await api.http.get(f"/api/v1/quizzes/{quiz['id']}", headers=asha.headers)
    assert r.status_code == 404 and error_code(r) == "not_found"
    assert (await api.http.get(f"/api/v1/rooms/{room}/quizzes", headers=asha.headers)).json() == []
    r = await api.http.get(f"/api/v1/attempts/{attempt['id']}", headers=asha.headers)
    assert r.status_code == 404


async def test_quizzes_are_refused_in_a_bot_conversation(api: Api) -> None:
    asha = await api.user("Asha")
    r = await api.http.post(
        "/api/v1/rooms",
        json={"name": "Chest pain", "kind": "bot_conversation"},
        headers=asha.headers,
    )
    bot_room = r.json()["id"]
    r = await api.http.post(
        f"/api/v1/rooms/{bot_room}/quizzes",
        json={"title": "Cells", "subject": "biology"},
        headers=asha.headers,
    )
    assert r.status_code == 409, r.text
    assert error_code(r) == "conflict" and "study group" in r.json()["error"]["message"]


async def test_unknown_quiz_is_not_found(api: Api) -> None:
    asha = await api.user("Asha")
    r = await api.http.get("/api/v1/quizzes/999999", headers=asha.headers)
    assert r.status_code == 404 and error_code(r) == "not_found"


async def test_quizzes_need_authentication(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    r = await api.http.get(f"/api/v1/rooms/{room}/quizzes")
    assert r.status_code == 401 and error_code(r) == "unauthorized"


# --- permissions --------------------------------------------------------------------------


async def test_plain_member_cannot_create_patch_or_delete_quizzes(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    quiz = await make_quiz(api, asha, room, 0)
    qid = quiz["questions"][0]["id"]
    h = ravi.headers
    attempts = [
        await api.http.post(
            f"/api/v1/rooms/{room}/quizzes", json={"title": "X", "subject": "physics"}, headers=h
        ),
        await api.http.patch(f"/api/v1/quizzes/{quiz['id']}", json={"title": "X"}, headers=h),
        await api.http.delete(f"/api/v1/quizzes/{quiz['id']}", headers=h),
        await api.http.post(f"/api/v1/quizzes/{quiz['id']}/questions", json=question(), headers=h),
        await api.http.patch(f"/api/v1/questions/{qid}", json={"topic": "X"}, headers=h),
        await api.http.delete(f"/api/v1/questions/{qid}", headers=h),
    ]
    assert [(r.status_code, error_code(r)) for r in attempts] == [(403, "forbidden")] * 6
    unchanged = await api.http.get(f"/api/v1/quizzes/{quiz['id']}", headers=asha.headers)
    assert unchanged.json() == quiz


async def test_non_member_cannot_read_or_attempt_quizzes(api: Api) -> None:
    asha, stranger = await api.user("Asha"), await api.user("Stranger")
    room = await api.room(asha)
    quiz = await make_quiz(api, asha, room, 0)
    h = stranger.headers
    refused = [
        await api.http.get(f"/api/v1/rooms/{room}/quizzes", headers=h),
        await api.http.get(f"/api/v1/quizzes/{quiz['id']}", headers=h),
        await submit(api, stranger, quiz["id"], []),
        await api.http.get(f"/api/v1/quizzes/{quiz['id']}/attempts/me", headers=h),
    ]
    assert [(r.status_code, error_code(r)) for r in refused] == [(403, "forbidden")] * 4


async def test_attempts_of_another_user_are_not_found(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    quiz = await make_quiz(api, asha, room, 0)
    theirs = (await submit(api, ravi, quiz["id"], [])).json()
    r = await api.http.get(f"/api/v1/attempts/{theirs['id']}", headers=asha.headers)
    missing = await api.http.get("/api/v1/attempts/999999", headers=asha.headers)
    assert r.status_code == missing.status_code == 404
    assert error_code(r) == "not_found"
    assert r.json()["error"]["message"] == f"Attempt {theirs['id']} does not exist."
    mine = await api.http.get(f"/api/v1/quizzes/{quiz['id']}/attempts/me", headers=asha.headers)
    assert mine.json() == []
    own = await api.http.get(f"/api/v1/attempts/{theirs['id']}", headers=ravi.headers)
    assert own.status_code == 200 and own.json() == theirs
