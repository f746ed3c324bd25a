"""`parley demo quiz`: simulated members play a live quiz session on a running server.

A DEMO, never for production (refused when PARLEY_ENV=production): it registers throwaway
members, has them join the seeded study group, starts a session of its first quiz as the
demo owner and answers every question through the public REST API (right about 70% of
the time, after a random delay), so the live questions, reveals and boards can be
watched in the web page (it announces the session in the group's chat, where the page
offers to join it) or any client subscribed to `quiz:{id}` / `leaderboard:{room}`.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from typing import Any

import httpx

from domain.seed import DEMO_EMAIL, DEMO_PASSWORD

DEMO_INVITE = "neet-demo-2027"


async def _login(http: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    r = await http.post("/api/v1/auth/token", data={"username": email, "password": password})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _member(http: httpx.AsyncClient, n: int) -> dict[str, str]:
    email = f"demo-member-{secrets.token_hex(4)}@example.com"
    password = secrets.token_urlsafe(16)
    body = {"email": email, "password": password, "display_name": f"Demo member {n}"}
    (await http.post("/api/v1/auth/register", json=body)).raise_for_status()
    headers = await _login(http, email, password)
    joined = await http.post(
        "/api/v1/rooms/join", json={"invite_code": DEMO_INVITE}, headers=headers
    )
    joined.raise_for_status()
    return headers


async def _play(
    http: httpx.AsyncClient, headers: dict[str, str], sid: int, quiz: Any, seconds: int
) -> None:
    keys = {q["id"]: q["correct_index"] for q in quiz["questions"]}
    answered: set[int] = set()
    while True:
        state = (await http.get(f"/api/v1/sessions/{sid}", headers=headers)).json()
        if state["status"] == "ended":
            return
        if state["phase"] == "open":
            question_id = quiz["session_questions"][state["current_index"]]
            if question_id not in answered:
                await asyncio.sleep(random.uniform(0.05, 0.5 * seconds))
                right = random.random() < 0.7
                option = keys[question_id] if right else (keys[question_id] + 1) % 4
                await http.post(
                    f"/api/v1/sessions/{sid}/answers",
                    json={"question_id": question_id, "option": option},
                    headers=headers,
                )
                answered.add(question_id)
        await asyncio.sleep(0.2)


async def run_demo(url: str, members: int, seconds: int) -> int:
    """Play one session; returns its id."""
    async with httpx.AsyncClient(base_url=url, timeout=20) as http:
        owner = await _login(http, DEMO_EMAIL, DEMO_PASSWORD)
        rooms = (await http.get("/api/v1/rooms", headers=owner)).json()
        room = next(r for r in rooms if r.get("invite_code") == DEMO_INVITE)
        quizzes = (await http.get(f"/api/v1/rooms/{room['id']}/quizzes", headers=owner)).json()
        quiz = (await http.get(f"/api/v1/quizzes/{quizzes[-1]['id']}", headers=owner)).json()
        players = [await _member(http, n + 1) for n in range(members)]
        created = await http.post(
            f"/api/v1/quizzes/{quiz['id']}/sessions",
            json={"seconds_per_question": seconds},
            headers=owner,
        )
        created.raise_for_status()
        sid = created.json()["id"]
        # The session plays the quiz's questions in order (no draw was asked for).
        quiz["session_questions"] = [q["id"] for q in quiz["questions"]]
        print(f"session {sid}: watch quiz:{sid} and leaderboard:{room['id']}")
        (await http.post(f"/api/v1/sessions/{sid}/start", headers=owner)).raise_for_status()
        # The web page turns this message into a "Join live quiz" button (decision 0023).
        announce = {"body": f'Live quiz started: session #{sid}. Open "Live quiz" to play.'}
        posted = await http.post(
            f"/api/v1/rooms/{room['id']}/messages", json=announce, headers=owner
        )
        posted.raise_for_status()
        await asyncio.gather(*(_play(http, p, sid, quiz, seconds) for p in players))
        final = (await http.get(f"/api/v1/sessions/{sid}/leaderboard", headers=owner)).json()
        for entry in final["items"]:
            print(f"  #{entry['rank']} {entry['user']['name']}: {entry['score']}")
        return int(sid)
