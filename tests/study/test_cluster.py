"""Quiz sessions across two real worker processes: boards on both workers end equal to
the database, and a session survives the death of the worker running it."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from tests.backing import Backing
from tests.conftest import make_settings
from tests.servers import ServerProcess
from tests.study.helpers import (
    FAST,
    answer_rest,
    board,
    group,
    is_type,
    quiz,
    session,
    start,
    until,
    watch,
)
from tests.support import Api

pytestmark = pytest.mark.processes


@pytest.fixture
async def pair(
    db: object, backing: Backing, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[ServerProcess, ServerProcess, Api, Api]]:
    settings = make_settings(backing, redis_prefix, Path(tmp_path_factory.mktemp("study")), **FAST)
    a, b = ServerProcess(settings), ServerProcess(settings)
    try:
        a.start()
        b.start()
        await asyncio.gather(a.wait_ready(), b.wait_ready())
        async with (
            httpx.AsyncClient(base_url=a.url, timeout=20) as ha,
            httpx.AsyncClient(base_url=b.url, timeout=20) as hb,
        ):
            yield a, b, Api(ha, a.ws_url), Api(hb, b.ws_url)
    finally:
        a.stop()
        b.stop()


def flow(frames: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [
        (f["type"], f.get("index", -1))
        for f in frames
        if f["type"] in ("question", "reveal", "ended")
    ]


async def test_watchers_on_both_workers_end_with_the_database_standings(
    pair: tuple[ServerProcess, ServerProcess, Api, Api],
) -> None:
    _, _, on_a, on_b = pair
    owner, members, room = await group(on_a, 6)
    q = await quiz(on_a, owner, room, 0, 1)
    sid = await session(on_a, owner, q["id"], seconds=2)
    watchers = [await on_a.ws(members[0]), await on_b.ws(members[1])]
    for w in watchers:
        await watch(w, f"quiz:{sid}")
    await start(on_a, owner, sid)
    for index, question in enumerate(q["questions"]):
        await until(watchers[0], is_type("question", index=index))
        await asyncio.gather(
            *(
                answer_rest(on_a if i % 2 else on_b, m, sid, question["id"], (i + index) % 4)
                for i, m in enumerate(members)
            )
        )
    results = (await on_b.http.get(f"/api/v1/sessions/{sid}/results", headers=owner.headers)).json()
    expected = results["standings"]["items"]
    assert len(expected) == 6
    for w in watchers:
        ended, final = False, False

        def done(f: dict[str, Any]) -> bool:
            nonlocal ended, final
            ended = ended or f["type"] == "ended"
            final = final or (f["type"] == "board" and f["top"] == expected and f["total"] == 6)
            return ended and final

        await until(w, done, 20)
        await w.close()


async def test_a_session_survives_the_worker_that_runs_it_dying(
    pair: tuple[ServerProcess, ServerProcess, Api, Api],
) -> None:
    a, _, on_a, on_b = pair
    owner, (asha,), room = await group(on_b, 1)
    q = await quiz(on_b, owner, room, 0, 1, 2)
    sid = await session(on_b, owner, q["id"], seconds=2)
    watcher = await on_b.ws(asha)
    await watch(watcher, f"quiz:{sid}")
    await start(on_a, owner, sid)  # worker A takes the lease and runs it
    seen = await until(watcher, is_type("question", index=0))
    a.signal(signal.SIGKILL)  # no graceful hand-over: B must notice the lease expire
    r = await answer_rest(on_b, asha, sid, q["questions"][0]["id"], 0)
    assert r.status_code == 201, r.text
    seen += await until(watcher, is_type("ended"), within=30)
    assert flow(seen) == [
        ("question", 0),
        ("reveal", 0),
        ("question", 1),
        ("reveal", 1),
        ("question", 2),
        ("reveal", 2),
        ("ended", -1),
    ]
    final = await on_b.http.get(f"/api/v1/sessions/{sid}", headers=asha.headers)
    assert final.json()["status"] == "ended"
    await watcher.close()


async def test_a_burst_on_both_workers_scores_each_answer_once_and_boards_equal_a_rebuild(
    pair: tuple[ServerProcess, ServerProcess, Api, Api], backing: Backing, redis_prefix: str
) -> None:
    """Answers batched per worker, the same member answering on both workers at once:
    one answer per member per question is stored and scored; the boards moved by
    increments equal the ones rebuilt from PostgreSQL."""
    _, _, on_a, on_b = pair
    owner, members, room = await group(on_a, 8)
    q = await quiz(on_a, owner, room, 2)
    qid = q["questions"][0]["id"]
    sids = [await session(on_a, owner, q["id"], seconds=60) for _ in range(3)]
    for sid in sids:
        await start(on_a, owner, sid)

    async def three_tries(sid: int, i: int, member: Any) -> list[tuple[int, int]]:
        tries = [(on_a, i % 4), (on_b, (i + 1) % 4), (on_a, (i + 2) % 4)]
        replies = await asyncio.gather(
            *(answer_rest(api, member, sid, qid, option) for api, option in tries)
        )
        return [(r.status_code, option) for r, (_, option) in zip(replies, tries, strict=True)]

    outcomes = await asyncio.gather(
        *(three_tries(sid, i + j, m) for j, sid in enumerate(sids) for i, m in enumerate(members))
    )
    expected: dict[int, int] = {}
    for k, replies in enumerate(outcomes):  # session-major: member k % len(members)
        codes = sorted(code for code, _ in replies)
        assert codes == [201, 409, 409], replies
        option = next(option for code, option in replies if code == 201)
        uid = members[k % len(members)].id
        expected[uid] = expected.get(uid, 0) + (4 if option == 2 else -1)

    paths = [f"/api/v1/rooms/{room}/leaderboard"] + [
        f"/api/v1/sessions/{sid}/leaderboard" for sid in sids
    ]
    incremental = [await board(on_b, owner, p, limit=100) for p in paths]
    assert {e["user"]["id"]: e["score"] for e in incremental[0]["items"]} == expected
    redis = aioredis.from_url(backing.redis_url)
    try:
        keys = [f"{redis_prefix}:zset:lb:room:{room}"]
        keys += [f"{redis_prefix}:zset:lb:session:{sid}" for sid in sids]
        assert await redis.delete(*keys) == len(keys)  # only the keys this test owns
        rebuilt = [await board(on_a, owner, p, limit=100) for p in paths]
    finally:
        await redis.aclose()
    assert [{**p, "version": 0} for p in rebuilt] == [{**p, "version": 0} for p in incremental]
