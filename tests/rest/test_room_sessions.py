"""`GET /rooms/{id}/sessions`: how a member finds the group's live quiz (the Telegram
bridge's `/quiz` uses it); members only, ended sessions left out."""

from __future__ import annotations

from tests.conftest import ApiFactory
from tests.study.helpers import FAST, group, is_type, quiz, session, start, until, watch


async def test_a_member_sees_the_groups_sessions_that_are_not_over(api_with: ApiFactory) -> None:
    async with api_with(**FAST) as api:
        owner, (asha,), room = await group(api, members=1)
        q = await quiz(api, owner, room, 1)
        first = await session(api, owner, q["id"], seconds=1)
        second = await session(api, owner, q["id"], seconds=30)
        ws = await api.ws(asha)
        await watch(ws, f"quiz:{first}")
        await start(api, owner, first)
        await until(ws, is_type("ended"))
        await start(api, owner, second)

        r = await api.http.get(f"/api/v1/rooms/{room}/sessions", headers=asha.headers)
        assert r.status_code == 200, r.text
        assert [(s["id"], s["status"]) for s in r.json()] == [(second, "running")]

        outsider = await api.user("Outsider")
        r = await api.http.get(f"/api/v1/rooms/{room}/sessions", headers=outsider.headers)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = await api.http.get("/api/v1/rooms/999999/sessions", headers=asha.headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
