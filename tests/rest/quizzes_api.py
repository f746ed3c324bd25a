"""Helpers over the real quiz API, shared by the quiz specifications."""

from __future__ import annotations

from typing import Any

from tests.support import Api, User


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
