"""Quizzes of study groups: questions, NEET-marked attempts, and who may see what."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import Invalid
from domain.scoring import Choice, score
from tests.servers import InProcessServer
from tests.support import Api, User

# --- scoring: a pure function -------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    id: int
    correct_index: int


FOUR = [Key(1, 0), Key(2, 1), Key(3, 2), Key(4, 3)]


def test_all_correct_scores_four_each() -> None:
    scored = score(FOUR, [Choice(q.id, q.correct_index) for q in FOUR])
    assert (scored.score, scored.max_score) == (16, 16)
    assert (scored.correct, scored.wrong, scored.unanswered) == (4, 0, 0)
    assert [m.marks for m in scored.answers] == [4, 4, 4, 4]
    assert all(m.is_correct is True for m in scored.answers)


def test_each_wrong_answer_costs_one_mark() -> None:
    scored = score(FOUR, [Choice(1, 3), Choice(2, 0)])
    assert scored.score == -2
    assert (scored.correct, scored.wrong, scored.unanswered) == (0, 2, 2)
    assert [m.is_correct for m in scored.answers] == [False, False, None, None]


def test_unanswered_scores_zero_whether_null_or_left_out() -> None:
    scored = score(FOUR, [Choice(1, None)])
    assert (scored.score, scored.max_score) == (0, 16)
    assert scored.unanswered == 4
    assert [(m.selected_index, m.is_correct, m.marks) for m in scored.answers] == [
        (None, None, 0)
    ] * 4


def test_two_correct_one_wrong_one_unanswered_scores_seven() -> None:
    scored = score(FOUR, [Choice(1, 0), Choice(2, 1), Choice(3, 0), Choice(4, None)])
    assert scored.score == 7
    assert (scored.correct, scored.wrong, scored.unanswered) == (2, 1, 1)
    assert [m.marks for m in scored.answers] == [4, 4, -1, 0]


def test_marked_answers_follow_question_order_not_submission_order() -> None:
    scored = score(FOUR, [Choice(4, 3), Choice(2, 1)])
    assert [m.question_id for m in scored.answers] == [1, 2, 3, 4]
    assert [m.correct_index for m in scored.answers] == [0, 1, 2, 3]


def test_scoring_refuses_a_question_outside_the_quiz() -> None:
    with pytest.raises(Invalid, match="not part of this quiz"):
        score(FOUR, [Choice(99, 0)])


def test_scoring_refuses_the_same_question_twice() -> None:
    with pytest.raises(Invalid, match="more than once"):
        score(FOUR, [Choice(1, 0), Choice(1, 0)])


def test_scoring_refuses_an_option_outside_zero_to_three() -> None:
    with pytest.raises(Invalid, match="selected_index"):
        score(FOUR, [Choice(1, 4)])


# --- helpers over the real API ------------------------------------------------------------


def question(prompt: str = "Which organelle makes ATP?", correct: int = 1, **extra: Any) -> Any:
    return {
        "subject": "biology",
        "topic": "Cell biology",
        "difficulty": "easy",
        "prompt": prompt,
        "options": ["Ribosome", "Mitochondrion", "Golgi body", "Lysosome"],
        "correct_index": correct,
        "explanation": f"Explanation of {prompt}",
        **extra,
    }


async def make_quiz(api: Api, owner: User, room: int, *correct: int, title: str = "Cells") -> Any:
    body = {
        "title": title,
        "subject": "biology",
        "questions": [question(f"Q{i}", c) for i, c in enumerate(correct)],
    }
    r = await api.http.post(f"/api/v1/rooms/{room}/quizzes", json=body, headers=owner.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def submit(api: Api, user: User, quiz_id: int, answers: list[Any]) -> Any:
    return await api.http.post(
        f"/api/v1/quizzes/{quiz_id}/attempts", json={"answers": answers}, headers=user.headers
    )


def error_code(r: Any) -> str:
    code: str = r.json()["error"]["code"]
    return code


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


# --- attempts -----------------------------------------------------------------------------


async def test_member_submits_an_attempt_and_sees_answers_revealed(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    quiz = await make_quiz(api, asha, room, 1, 2, 3, 0)
    q = [x["id"] for x in quiz["questions"]]
    # 2 correct (+8), 1 wrong (-1), 1 unanswered by leaving it out (0) = 7
    r = await submit(
        api,
        ravi,
        quiz["id"],
        [
            {"question_id": q[2], "selected_index": 0},
            {"question_id": q[0], "selected_index": 1},
            {"question_id": q[1], "selected_index": 2},
        ],
    )
    assert r.status_code == 201, r.text
    result = r.json()
    assert result["quiz_id"] == quiz["id"] and result["user_id"] == ravi.id
    assert (result["score"], result["max_score"]) == (7, 16)
    assert (result["correct"], result["wrong"], result["unanswered"]) == (2, 1, 1)
    assert result["answers"] == [
        {
            "question_id": q[i],
            "selected_index": selected,
            "correct_index": correct,
            "is_correct": is_correct,
            "marks": marks,
            "explanation": f"Explanation of Q{i}",
        }
        for i, (selected, correct, is_correct, marks) in enumerate(
            [(1, 1, True, 4), (2, 2, True, 4), (0, 3, False, -1), (None, 0, None, 0)]
        )
    ]
    stored = await api.http.get(f"/api/v1/attempts/{result['id']}", headers=ravi.headers)
    assert stored.status_code == 200 and stored.json() == result


async def test_explicit_null_answer_counts_as_unanswered(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    quiz = await make_quiz(api, asha, room, 1)
    qid = quiz["questions"][0]["id"]
    r = await submit(api, asha, quiz["id"], [{"question_id": qid, "selected_index": None}])
    assert r.status_code == 201, r.text
    assert (r.json()["score"], r.json()["unanswered"]) == (0, 1)
    assert r.json()["answers"][0]["is_correct"] is None


async def test_my_attempts_are_listed_newest_first(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    quiz = await make_quiz(api, asha, room, 1, 2)
    qid = quiz["questions"][0]["id"]
    first = (
        await submit(api, asha, quiz["id"], [{"question_id": qid, "selected_index": 0}])
    ).json()
    second = (
        await submit(api, asha, quiz["id"], [{"question_id": qid, "selected_index": 1}])
    ).json()
    r = await api.http.get(f"/api/v1/quizzes/{quiz['id']}/attempts/me", headers=asha.headers)
    assert r.status_code == 200
    assert r.json() == [second, first]
    assert [a["score"] for a in r.json()] == [4, -1]


async def test_attempt_keeps_its_max_score_when_the_quiz_grows(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    quiz = await make_quiz(api, asha, room, 1)
    attempt = (await submit(api, asha, quiz["id"], [])).json()
    r = await api.http.post(
        f"/api/v1/quizzes/{quiz['id']}/questions", json=question("Later"), headers=asha.headers
    )
    assert r.status_code == 201
    again = await api.http.get(f"/api/v1/attempts/{attempt['id']}", headers=asha.headers)
    assert again.json() == attempt
    assert again.json()["max_score"] == 4 and len(again.json()["answers"]) == 1


async def test_attempt_keeps_its_totals_when_a_question_is_deleted_later(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    quiz = await make_quiz(api, asha, room, 1, 2)
    q = [x["id"] for x in quiz["questions"]]
    answers = [
        {"question_id": q[0], "selected_index": 1},
        {"question_id": q[1], "selected_index": 2},
    ]
    attempt = (await submit(api, asha, quiz["id"], answers)).json()
    r = await api.http.delete(f"/api/v1/questions/{q[1]}", headers=asha.headers)
    assert r.status_code == 204
    again = (await api.http.get(f"/api/v1/attempts/{attempt['id']}", headers=asha.headers)).json()
    assert (again["score"], again["max_score"], again["correct"]) == (8, 8, 2)
    assert [a["question_id"] for a in again["answers"]] == [q[0]]


async def test_attempt_naming_a_question_of_another_quiz_is_invalid(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    quiz = await make_quiz(api, asha, room, 1)
    other = await make_quiz(api, asha, room, 1)
    foreign = other["questions"][0]["id"]
    r = await submit(api, asha, quiz["id"], [{"question_id": foreign, "selected_index": 1}])
    assert r.status_code == 422 and error_code(r) == "invalid"
    assert r.json()["error"]["details"] == {"question_id": foreign}
    mine = await api.http.get(f"/api/v1/quizzes/{quiz['id']}/attempts/me", headers=asha.headers)
    assert mine.json() == []


async def test_attempt_answering_the_same_question_twice_is_invalid(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    quiz = await make_quiz(api, asha, room, 1)
    qid = quiz["questions"][0]["id"]
    answers = [{"question_id": qid, "selected_index": 1}, {"question_id": qid, "selected_index": 0}]
    r = await submit(api, asha, quiz["id"], answers)
    assert r.status_code == 422 and error_code(r) == "invalid"
    assert "more than once" in r.json()["error"]["message"]


async def test_attempt_selecting_option_four_is_invalid(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    quiz = await make_quiz(api, asha, room, 1)
    qid = quiz["questions"][0]["id"]
    r = await submit(api, asha, quiz["id"], [{"question_id": qid, "selected_index": 4}])
    assert r.status_code == 422 and error_code(r) == "invalid"
    assert r.json()["error"]["details"][0]["field"] == "body.answers.0.selected_index"


async def test_attempt_at_a_quiz_without_questions_is_a_conflict(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    quiz = await make_quiz(api, asha, room)
    r = await submit(api, asha, quiz["id"], [])
    assert r.status_code == 409 and error_code(r) == "conflict"


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
