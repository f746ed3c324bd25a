"""Shared set-up for study-group tests: fast timing, a group with a quiz, frame waits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.support import Api, User, WsClient

# Short enough to keep tests fast, long enough for two CPU-starved workers to answer.
FAST: dict[str, Any] = {
    "quiz_min_seconds_per_question": 1,
    "quiz_reveal_seconds": 0.3,
    "quiz_lease_seconds": 1.5,
    "quiz_check_seconds": 0.3,
    "board_window_seconds": 0.2,
    "ws_rate_per_second": 10_000,
    "ws_rate_burst": 10_000,
}


def question(prompt: str, correct: int, subject: str = "biology") -> dict[str, Any]:
    return {
        "subject": subject,
        "topic": "Cell biology",
        "difficulty": "easy",
        "prompt": prompt,
        "options": ["A", "B", "C", "D"],
        "correct_index": correct,
        "explanation": f"Because of {prompt}",
    }


async def group(api: Api, members: int = 2) -> tuple[User, list[User], int]:
    owner = await api.user("Owner")
    people = [await api.user(f"Member{i}") for i in range(members)]
    room = await api.room(owner, *people)
    return owner, people, room


async def quiz(api: Api, owner: User, room: int, *correct: int) -> dict[str, Any]:
    body = {
        "title": "Live cells",
        "subject": "biology",
        "questions": [question(f"Q{i}", c) for i, c in enumerate(correct)],
    }
    r = await api.http.post(f"/api/v1/rooms/{room}/quizzes", json=body, headers=owner.headers)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def session(api: Api, owner: User, quiz_id: int, seconds: int = 2, **extra: Any) -> int:
    r = await api.http.post(
        f"/api/v1/quizzes/{quiz_id}/sessions",
        json={"seconds_per_question": seconds, **extra},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "scheduled"
    sid: int = r.json()["id"]
    return sid


async def start(api: Api, owner: User, sid: int) -> dict[str, Any]:
    r = await api.http.post(f"/api/v1/sessions/{sid}/start", headers=owner.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def watch(ws: WsClient, channel: str) -> None:
    reply = await ws.request({"type": "subscribe", "channel": channel})
    assert reply["type"] == "subscribed", reply


async def until(
    ws: WsClient, done: Callable[[dict[str, Any]], bool], within: float = 15
) -> list[dict[str, Any]]:
    """Every frame up to and including the first for which `done` is true."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while True:
            frame = await ws.recv(within)
            seen.append(frame)
            if done(frame):
                return seen


def is_type(kind: str, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    return lambda f: f.get("type") == kind and all(f.get(k) == v for k, v in fields.items())


async def answer_rest(api: Api, user: User, sid: int, qid: int, option: int) -> Any:
    return await api.http.post(
        f"/api/v1/sessions/{sid}/answers",
        json={"question_id": qid, "option": option},
        headers=user.headers,
    )


async def board(api: Api, user: User, path: str, **params: Any) -> dict[str, Any]:
    r = await api.http.get(path, params=params, headers=user.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body
