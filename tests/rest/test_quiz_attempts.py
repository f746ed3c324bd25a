"""NEET-marked attempts at a study group's quiz over the real API, and who sees which."""

from __future__ import annotations

from tests.rest.quizzes_api import error_code, make_quiz, question, submit
from tests.support import Api

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
