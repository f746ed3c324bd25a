"""The set-up of a `bench.leaderboard` run through REST: members, the study group, its quiz
and sessions, starting them, and reading the final board back."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import httpx

from bench.scenarios import BenchError

SECONDS_PER_QUESTION = 300  # the maximum: the question stays open through the run


async def _user(http: httpx.AsyncClient, tag: str, i: int) -> str:
    email, password = f"board-{tag}-{i}@example.com", "bench password 1234"
    body = {"email": email, "password": password, "display_name": f"Board {i}"}
    r = await http.post("/api/v1/auth/register", json=body)
    if r.status_code != 201:
        raise BenchError(f"register: {r.status_code} {r.text[:200]}")
    t = await http.post("/api/v1/auth/token", data={"username": email, "password": password})
    if t.status_code != 200:
        raise BenchError(f"token: {t.status_code} {t.text[:200]}")
    return str(t.json()["access_token"])


async def _setup(url: str, tag: str, members: int, sessions: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        owner = {"Authorization": f"Bearer {await _user(http, tag, -1)}"}
        r = await http.post("/api/v1/rooms", json={"name": f"board {tag}"}, headers=owner)
        if r.status_code != 201:
            raise BenchError(f"create room: {r.status_code} {r.text[:200]}")
        room, invite = int(r.json()["id"]), r.json()["invite_code"]
        question = {
            "subject": "biology",
            "topic": "Cell biology",
            "difficulty": "easy",
            "prompt": "Which organelle makes ATP?",
            "options": ["Mitochondrion", "Ribosome", "Nucleus", "Vacuole"],
            "correct_index": 0,
            "explanation": "Oxidative phosphorylation.",
        }
        body = {"title": "Bench", "subject": "biology", "questions": [question]}
        q = await http.post(f"/api/v1/rooms/{room}/quizzes", json=body, headers=owner)
        if q.status_code != 201:
            raise BenchError(f"create quiz: {q.status_code} {q.text[:200]}")
        quiz_id, question_id = int(q.json()["id"]), int(q.json()["questions"][0]["id"])
        gate = asyncio.Semaphore(16)

        async def member(i: int) -> str:
            async with gate:
                token = await _user(http, tag, i)
                j = await http.post(
                    "/api/v1/rooms/join",
                    json={"invite_code": invite},
                    headers={"Authorization": f"Bearer {token}"},
                )
                if j.status_code != 200:
                    raise BenchError(f"join: {j.status_code} {j.text[:200]}")
                return token

        tokens = await asyncio.gather(*(member(i) for i in range(members)))
        sids = []
        for _ in range(sessions):
            s = await http.post(
                f"/api/v1/quizzes/{quiz_id}/sessions",
                json={"seconds_per_question": SECONDS_PER_QUESTION},
                headers=owner,
            )
            if s.status_code != 201:
                raise BenchError(f"create session: {s.status_code} {s.text[:200]}")
            sids.append(int(s.json()["id"]))
    return {
        "owner": owner,
        "room": room,
        "question": question_id,
        "tokens": list(tokens),
        "sessions": sids,
    }


async def _start_sessions(url: str, owner: dict[str, str], sids: list[int]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        for sid in sids:
            r = await http.post(f"/api/v1/sessions/{sid}/start", headers=owner)
            if r.status_code != 200:
                raise BenchError(f"start session: {r.status_code} {r.text[:200]}")


def _final_version(url: str, owner: dict[str, str], room: int, within: float = 60.0) -> int:
    """The group board's version once it stops moving (two reads 1.5 s apart agree)."""
    with httpx.Client(base_url=url, timeout=30) as http:

        def version() -> int:  # -1 while the server cannot answer (overloaded: 503)
            with contextlib.suppress(httpx.HTTPError):
                r = http.get(f"/api/v1/rooms/{room}/leaderboard", headers=owner)
                if r.status_code == 200:
                    return int(r.json()["version"])
            return -1

        seen, deadline = version(), time.monotonic() + within
        while time.monotonic() < deadline:
            time.sleep(1.5)
            again = version()
            if again == seen >= 0:
                break
            seen = again
        if seen < 0:
            raise BenchError("the group board could not be read back (the server answered 503)")
        return seen
