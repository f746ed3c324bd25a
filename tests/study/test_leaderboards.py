"""Leaderboards: the tie composite, rebuild from PostgreSQL, coalesced live snapshots,
personal rank events, SSE, and a member's history."""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from domain.study import answers
from domain.study.answers import AnswerIn
from domain.study.boards import SCORE_LIMIT, TICK_SPAN, composite, score_of
from domain.study.events import RankEvent, rank_frame
from tests.backing import Backing
from tests.conftest import ApiFactory
from tests.study.helpers import (
    FAST,
    answer_rest,
    board,
    group,
    is_type,
    question,
    quiz,
    session,
    start,
    until,
    watch,
)
from tests.support import Api, User


@pytest.mark.parametrize(
    ("channel", "version", "rank", "score"),
    [("leaderboard:9", 42, 14, 8), ("quiz:3", 1, 1000, -12), ("quiz:7", 2**40, 1, 0)],
)
def test_a_rank_frame_is_exactly_the_rank_events_json(
    channel: str, version: int, rank: int, score: int
) -> None:
    event = RankEvent(channel=channel, version=version, rank=rank, score=score)
    assert rank_frame(channel, version, rank, score) == event.model_dump_json()


def test_composite_orders_by_score_then_by_who_got_there_first() -> None:
    assert composite(8, 100) > composite(8, 101) > composite(7, 0) > composite(-1, 0)
    assert composite(0, TICK_SPAN - 1) > composite(-1, 0)
    for score in (-SCORE_LIMIT + 1, -1, 0, 1, 4, 12345, SCORE_LIMIT - 1):
        for tick in (0, 1, TICK_SPAN - 2, TICK_SPAN - 1):
            value = composite(score, tick)
            assert abs(value) < 2**53 and value == math.floor(value)
            assert score_of(value) == score
            assert composite(score, tick) != composite(score, tick + 1) or tick == TICK_SPAN - 1


async def attempt(api: Api, user: User, quiz_: dict[str, Any], options: list[int]) -> None:
    answers = [
        {"question_id": q["id"], "selected_index": o}
        for q, o in zip(quiz_["questions"], options, strict=True)
    ]
    r = await api.http.post(
        f"/api/v1/quizzes/{quiz_['id']}/attempts", json={"answers": answers}, headers=user.headers
    )
    assert r.status_code == 201, r.text


async def test_equal_scores_rank_whoever_reached_it_first(api_with: ApiFactory) -> None:
    async with api_with(**FAST) as api:
        owner, (asha, ravi, meera), room = await group(api, 3)
        q = await quiz(api, owner, room, 1)
        sid = await session(api, owner, q["id"], seconds=10)
        await start(api, owner, sid)
        qid = q["questions"][0]["id"]
        for user in (ravi, asha, meera):  # ravi first, asha second: both +4
            r = await answer_rest(api, user, sid, qid, 1 if user is not meera else 0)
            assert r.status_code == 201
        page = await board(api, asha, f"/api/v1/sessions/{sid}/leaderboard")
        assert [(e["user"]["id"], e["rank"], e["score"]) for e in page["items"]] == [
            (ravi.id, 1, 4),
            (asha.id, 2, 4),
            (meera.id, 3, -1),
        ]
        assert page["me"]["rank"] == 2 and page["total"] == 3
        second = await board(api, asha, f"/api/v1/sessions/{sid}/leaderboard", limit=1, offset=1)
        assert [e["user"]["id"] for e in second["items"]] == [asha.id]


async def test_a_board_lost_from_redis_is_rebuilt_identical(
    api_with: ApiFactory, backing: Backing, redis_prefix: str
) -> None:
    async with api_with(**FAST) as api:
        owner, members, room = await group(api, 4)
        q = await quiz(api, owner, room, 0, 1, 2)
        for i, m in enumerate(members):
            await attempt(api, m, q, [i % 4, 1, (i + 1) % 4])
        sid = await session(api, owner, q["id"], seconds=10)
        await start(api, owner, sid)
        for m in members[:3]:
            assert (await answer_rest(api, m, sid, q["questions"][0]["id"], 0)).status_code == 201
        paths = [f"/api/v1/rooms/{room}/leaderboard", f"/api/v1/sessions/{sid}/leaderboard"]
        before = [await board(api, members[3], p, limit=100) for p in paths]
        redis = aioredis.from_url(backing.redis_url)
        try:
            keys = [f"{redis_prefix}:zset:lb:room:{room}", f"{redis_prefix}:zset:lb:session:{sid}"]
            assert await redis.delete(*keys) == 2  # only the keys this test owns
            after = [await board(api, members[3], p, limit=100) for p in paths]
            assert await redis.exists(*keys) == 2
        finally:
            await redis.aclose()
        # Equal boards; `version` numbers snapshots (publishes may happen in between).
        assert [{**p, "version": 0} for p in after] == [{**p, "version": 0} for p in before]
        assert before[0]["total"] == 4 and before[1]["total"] == 3


async def test_board_counts_match_the_answers_and_survive_losing_them_alone(
    api_with: ApiFactory, backing: Backing, redis_prefix: str
) -> None:
    """Boards show each member's right and wrong answers (attempts, then live answers on
    top): kept in Redis beside the scores, and read from PostgreSQL when Redis lost them."""
    async with api_with(**FAST) as api:
        owner, (asha, ravi, meera), room = await group(api, 3)
        await attempt(api, asha, await quiz(api, owner, room, 0, 1), [0, 0])  # right, wrong
        q = await quiz(api, owner, room, 1)
        sid = await session(api, owner, q["id"], seconds=10)
        await start(api, owner, sid)
        for user, option in ((asha, 1), (ravi, 0), (meera, 1)):
            r = await answer_rest(api, user, sid, q["questions"][0]["id"], option)
            assert r.status_code == 201
        path = f"/api/v1/rooms/{room}/leaderboard"
        expected = {asha.id: (7, 2, 1), meera.id: (4, 1, 0), ravi.id: (-1, 0, 1)}
        page = await board(api, owner, path)
        assert {e["user"]["id"]: (e["score"], e["correct"], e["wrong"]) for e in page["items"]} == (
            expected
        )
        assert {e["user"]["id"]: e["user"]["name"] for e in page["items"]} == {
            u.id: u.name for u in (asha, ravi, meera)
        }
        redis = aioredis.from_url(backing.redis_url)
        try:  # only the key this test owns: the counts, not the set
            assert await redis.delete(f"{redis_prefix}:zset-counts:lb:room:{room}") == 1
        finally:
            await redis.aclose()
        again = await board(api, owner, path)
        assert {**again, "version": 0} == {**page, "version": 0}


async def test_a_change_lost_with_its_worker_is_caught_up_from_the_database(
    api_with: ApiFactory, db: AsyncEngine
) -> None:
    """A worker that dies between storing an answer and moving the Redis board leaves a
    gap in the board's change numbers: the publisher sees the watermark stay behind and
    rebuilds the board, so watchers still get the database's standings."""
    async with api_with(**FAST) as api:
        owner, (asha, ravi, meera), room = await group(api, 3)
        q = await quiz(api, owner, room, 1)
        qid = q["questions"][0]["id"]
        sid = await session(api, owner, q["id"], seconds=30)
        await start(api, owner, sid)
        watcher = await api.ws(owner)
        await watch(watcher, f"quiz:{sid}")
        assert (await answer_rest(api, asha, sid, qid, 1)).status_code == 201
        async with AsyncSession(db) as s:  # stored and committed, never applied to Redis
            lost = await answers.store(s, [AnswerIn(ravi.id, sid, qid, 1)])
        assert [type(o).__name__ for o in lost.outcomes] == ["Answered"]
        assert (await answer_rest(api, meera, sid, qid, 0)).status_code == 201
        await until(watcher, lambda f: f["type"] == "board" and f["total"] == 3, within=10)
        page = await board(api, owner, f"/api/v1/sessions/{sid}/leaderboard")
        assert [(e["user"]["id"], e["score"]) for e in page["items"]] == [
            (asha.id, 4),
            (ravi.id, 4),
            (meera.id, -1),
        ]
        await watcher.close()


async def test_boards_are_coalesced_and_the_final_one_matches_the_database(
    api_with: ApiFactory,
) -> None:
    async with api_with(**FAST) as api:
        owner, members, room = await group(api, 12)
        q = await quiz(api, owner, room, 0, 1)
        watcher, bystander = members[0], owner
        w1, w2 = await api.ws(watcher), await api.ws(bystander)
        for w in (w1, w2):
            await watch(w, f"leaderboard:{room}")
            first = await w.recv()
            assert first["type"] == "board" and first["total"] == 0
        began = time.monotonic()
        rounds = 3
        await asyncio.gather(
            *(
                attempt(api, m, q, [(i + r) % 4, 1])
                for r in range(rounds)
                for i, m in enumerate(members)
            )
        )
        expected = await board(api, watcher, f"/api/v1/rooms/{room}/leaderboard", limit=10)
        frames = await until(
            w1,
            lambda f: f["type"] == "board" and f["top"] == expected["items"],
            within=10,
        )
        elapsed = time.monotonic() - began
        boards_seen = [f for f in frames if f["type"] == "board"]
        # One snapshot per window at most (+ the first and the trailing one).
        assert len(boards_seen) <= elapsed / FAST["board_window_seconds"] + 2
        assert len(boards_seen) < rounds * len(members)
        assert [b["version"] for b in boards_seen] == sorted({b["version"] for b in boards_seen})
        # The watcher's own place: the last `rank` it gets (sent right after its board)
        # is the one in the final board.
        target = (expected["me"]["rank"], expected["me"]["score"])
        ranks = [(f["rank"], f["score"]) for f in frames if f["type"] == "rank"]
        if not ranks or ranks[-1] != target:
            await until(w1, is_type("rank", rank=target[0], score=target[1]), within=5)
        others = await until(w2, lambda f: f["type"] == "board" and f["top"] == expected["items"])
        assert not [f for f in others if f["type"] == "rank"]  # the owner has no place
        for w in (w1, w2):
            await w.close()


async def test_subscribing_gives_the_board_and_own_rank_and_sse_has_version_ids(
    api_with: ApiFactory,
) -> None:
    async with api_with(**FAST) as api:
        owner, (asha, ravi), room = await group(api, 2)
        q = await quiz(api, owner, room, 2)
        await attempt(api, asha, q, [2])
        await attempt(api, ravi, q, [1])
        ws = await api.ws(ravi)
        await watch(ws, f"leaderboard:{room}")
        got = await until(ws, is_type("rank"))
        snapshot = next(f for f in got if f["type"] == "board")
        assert [e["score"] for e in snapshot["top"]] == [4, -1]
        assert got[-1]["rank"] == 2 and got[-1]["score"] == -1
        await ws.close()
        headers = asha.headers
        path = f"/api/v1/rooms/{room}/leaderboard/events"
        async with api.http.stream("GET", path, headers=headers) as r:
            assert r.status_code == 200
            event_id, kind = None, None
            async for line in r.aiter_lines():
                if line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:") and kind == "board":
                    data = json.loads(line[5:])
                    assert event_id == str(data["version"])
                    break


async def test_history_has_attempts_sessions_and_accuracy_per_subject(
    api_with: ApiFactory,
) -> None:
    async with api_with(**FAST) as api:
        owner, (asha,), room = await group(api, 1)
        body = {
            "title": "Mixed",
            "subject": "physics",
            "questions": [
                question("P", 0, "physics"),
                question("C", 1, "chemistry"),
                question("Z", 2, "zoology"),
            ],
        }
        r = await api.http.post(f"/api/v1/rooms/{room}/quizzes", json=body, headers=owner.headers)
        q = r.json()
        await attempt(api, asha, q, [0, 0, 2])
        h = (await api.http.get("/api/v1/users/me/history", headers=asha.headers)).json()
        assert [a["score"] for a in h["attempts"]] == [7]
        assert {a["subject"]: (a["answered"], a["correct"]) for a in h["accuracy"]} == {
            "physics": (1, 1),
            "chemistry": (1, 0),
            "biology": (1, 1),
        }
