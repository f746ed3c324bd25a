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

from tests.backing import Backing
from tests.conftest import make_settings
from tests.servers import ServerProcess
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
