"""Quiz sessions on one real server: the live flow, answers over WS and REST, refusals."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import ApiFactory
from tests.study.helpers import (
    FAST,
    answer_rest,
    group,
    is_type,
    quiz,
    session,
    start,
    until,
    watch,
)


async def test_a_session_runs_live_with_answers_reveals_and_results(
    api_with: ApiFactory, db: AsyncEngine
) -> None:
    async with api_with(**FAST) as api:
        owner, (asha, ravi), room = await group(api)
        q = await quiz(api, owner, room, 2, 1)
        sid = await session(api, owner, q["id"], seconds=2)
        ws = await api.ws(asha)
        await watch(ws, f"quiz:{sid}")
        started = await start(api, owner, sid)
        assert started["status"] == "running" and started["current_index"] == 0
        first = (await until(ws, is_type("question")))[-1]
        assert first["index"] == 0 and first["count"] == 2 and first["deadline"].endswith("Z")
        assert set(first["question"]) == {"id", "text", "options"}  # no answer key
        q0 = first["question"]["id"]

        ok = await ws.request({"type": "answer", "session": sid, "question_id": q0, "option": 2})
        assert ok == {"type": "answered", "ref": ok["ref"], "session": sid, "question_id": q0}
        again = await ws.request({"type": "answer", "session": sid, "question_id": q0, "option": 1})
        assert again["type"] == "error" and again["code"] == "conflict"
        r = await answer_rest(api, ravi, sid, q0, 0)
        assert r.status_code == 201, r.text
        q1 = q["questions"][1]["id"]
        early = await answer_rest(api, ravi, sid, q1, 1)
        assert early.status_code == 422 and early.json()["error"]["code"] == "invalid"
        out_of_range = await ws.request(
            {"type": "answer", "session": sid, "question_id": q0, "option": 4}
        )
        assert out_of_range["code"] == "invalid"

        frames = await until(ws, is_type("question", index=1))
        reveal = next(f for f in frames if f["type"] == "reveal")
        assert reveal["index"] == 0 and reveal["question_id"] == q0
        assert reveal["correct_index"] == 2 and reveal["explanation"] == "Because of Q0"
        late = await answer_rest(api, ravi, sid, q0, 2)
        assert late.status_code == 422  # closed: not the open question any more
        frames = await until(ws, is_type("ended"))
        assert [f["index"] for f in frames if f["type"] == "reveal"] == [1]

        boards = [f for f in frames if f["type"] == "board"]
        final = (await until(ws, lambda f: f["type"] == "board" and f["total"] == 2, 5))[-1]
        assert [(e["user"]["id"], e["score"]) for e in final["top"]] == [
            (asha.id, 4),
            (ravi.id, -1),
        ]
        assert all(b["version"] < final["version"] for b in boards if b is not final)

        results = (
            await api.http.get(f"/api/v1/sessions/{sid}/results", headers=ravi.headers)
        ).json()
        assert results["session"]["status"] == "ended" and results["session"]["ended_at"]
        assert results["standings"]["me"]["rank"] == 2
        assert [
            (a["selected_index"], a["correct_index"], a["marks"]) for a in results["answers"]
        ] == [
            (0, 2, -1),
            (None, 1, 0),
        ]
        async with db.connect() as conn:
            stored = (
                await conn.execute(
                    text("SELECT user_id, marks FROM session_answers WHERE session_id = :s"),
                    {"s": sid},
                )
            ).all()
        assert sorted(stored) == sorted([(asha.id, 4), (ravi.id, -1)])
        await ws.close()


async def test_a_late_subscriber_gets_the_open_question_at_once(api_with: ApiFactory) -> None:
    async with api_with(**FAST) as api:
        owner, (asha,), room = await group(api, 1)
        q = await quiz(api, owner, room, 0)
        sid = await session(api, owner, q["id"], seconds=5)
        await start(api, owner, sid)
        ws = await api.ws(asha)
        await watch(ws, f"quiz:{sid}")
        first = await ws.recv()
        assert first["type"] == "question" and first["index"] == 0
        snapshot = await ws.recv()
        assert snapshot["type"] == "board" and snapshot["total"] == 0
        await ws.close()


async def test_refusals_change_nothing(api_with: ApiFactory, db: AsyncEngine) -> None:
    async with api_with(**FAST) as api:
        owner, (asha,), room = await group(api, 1)
        stranger = await api.user("Stranger")
        q = await quiz(api, owner, room, 1)
        r = await api.http.post(
            f"/api/v1/quizzes/{q['id']}/sessions",
            json={"seconds_per_question": 1},
            headers=asha.headers,
        )
        assert r.status_code == 403  # a member, not a manager
        too_short = await api.http.post(
            f"/api/v1/quizzes/{q['id']}/sessions",
            json={"seconds_per_question": 0},
            headers=owner.headers,
        )
        assert too_short.status_code == 422
        sid = await session(api, owner, q["id"], seconds=5)
        r = await api.http.post(f"/api/v1/sessions/{sid}/start", headers=asha.headers)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        not_yet = await answer_rest(api, asha, sid, q["questions"][0]["id"], 1)
        assert not_yet.status_code == 422  # scheduled: nothing is open
        await start(api, owner, sid)
        twice = await api.http.post(f"/api/v1/sessions/{sid}/start", headers=owner.headers)
        assert twice.status_code == 409 and twice.json()["error"]["code"] == "conflict"
        qid = q["questions"][0]["id"]
        outsider = await answer_rest(api, stranger, sid, qid, 1)
        assert outsider.status_code == 403
        ws = await api.ws(stranger)
        refused = await ws.request({"type": "subscribe", "channel": f"quiz:{sid}"})
        assert refused["code"] == "forbidden"
        for bad in (
            {"question_id": qid, "option": 7},
            {"question_id": 2**31, "option": 1},
            {"question_id": 0, "option": 1},
        ):
            r = await api.http.post(
                f"/api/v1/sessions/{sid}/answers", json=bad, headers=asha.headers
            )
            assert r.status_code == 422, bad
        other = await quiz(api, owner, room, 0)
        stray = await answer_rest(api, asha, sid, other["questions"][0]["id"], 0)
        assert stray.status_code == 422
        assert (
            await api.http.get("/api/v1/sessions/2147483648", headers=asha.headers)
        ).status_code == 422
        assert (
            await api.http.get("/api/v1/sessions/2147483647", headers=asha.headers)
        ).status_code == 404
        bad_frame = await ws.request(
            {"type": "answer", "session": 2**31, "question_id": qid, "option": 1}
        )
        assert bad_frame["code"] == "invalid"
        async with db.connect() as conn:
            count = (await conn.execute(text("SELECT count(*) FROM session_answers"))).scalar()
        assert count == 0
        await ws.close()


async def test_the_same_member_answering_many_times_at_once_scores_once(
    api_with: ApiFactory, db: AsyncEngine
) -> None:
    async with api_with(**FAST) as api:
        owner, (asha,), room = await group(api, 1)
        q = await quiz(api, owner, room, 3)
        sid = await session(api, owner, q["id"], seconds=10)
        await start(api, owner, sid)
        qid = q["questions"][0]["id"]
        sockets = [await api.ws(asha) for _ in range(4)]
        frame = {"type": "answer", "session": sid, "question_id": qid, "option": 3}
        replies = await asyncio.gather(
            *(s.request(frame) for s in sockets),
            *(answer_rest(api, asha, sid, qid, 3) for _ in range(4)),
        )
        ws_ok = [r for r in replies[:4] if r["type"] == "answered"]
        rest_ok = [r for r in replies[4:] if r.status_code == 201]
        assert len(ws_ok) + len(rest_ok) == 1
        assert all(r["code"] == "conflict" for r in replies[:4] if r["type"] == "error")
        assert all(r.status_code == 409 for r in replies[4:] if r.status_code != 201)
        async with db.connect() as conn:
            rows = (await conn.execute(text("SELECT marks FROM session_answers"))).all()
        assert rows == [(4,)]
        for s in sockets:
            await s.close()
