"""Bot answers across real worker processes: resume on another worker, and a killed
generating worker's answer ends `interrupted` on the survivors."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from domain.triage import DISCLAIMER
from tests.backing import Backing
from tests.bot.support import conversation, read_answer
from tests.realtime.test_cluster import Cluster, cluster_settings, running

pytestmark = pytest.mark.processes

SYMPTOMS = "I have had an itchy red rash on my arms for two weeks"


@pytest.fixture
async def bot_cluster(
    schema: object, backing: Backing, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    settings = cluster_settings(
        backing, redis_prefix, tmp_path_factory.mktemp("bot"), bot_offline_pace_ms=(40, 60)
    )
    async with running(settings) as c:
        yield c


async def test_resume_mid_answer_on_the_other_worker(bot_cluster: Cluster) -> None:
    async with bot_cluster.apis() as (on_a, on_b):
        asha = await on_a.user("Asha")
        room = await conversation(on_a, asha)
        channel = f"room:{room}"
        first = await on_a.ws(asha)
        await first.subscribe(channel)
        await first.send_message(channel, SYMPTOMS)
        before = await read_answer(first, deltas=4)
        assert before.start is not None
        await first.close()
        moved = await on_b.ws(asha)
        assert moved.hello["node"] != first.hello["node"]
        position = {"id": before.start["stream"], "index": before.deltas[-1]["index"]}
        reply = await moved.request(
            {"type": "subscribe", "channel": channel, "since": 1, "stream": position}
        )
        assert reply["type"] == "subscribed"
        after = await read_answer(moved)
        joined = before.deltas + after.deltas
        assert [d["index"] for d in joined] == list(range(len(joined)))
        assert after.message is not None
        assert after.message["body"] == "".join(d["text"] for d in joined)
        await moved.close()


async def test_a_killed_generating_worker_ends_the_answer_interrupted(
    bot_cluster: Cluster,
) -> None:
    cluster = bot_cluster
    async with cluster.apis() as (on_a, on_b):
        asha = await on_b.user("Asha")
        room = await conversation(on_b, asha)
        channel = f"room:{room}"
        sender, watcher = await on_a.ws(asha), await on_b.ws(asha)
        for ws in (sender, watcher):
            await ws.subscribe(channel)
        await sender.send_message(channel, SYMPTOMS)
        seen = await read_answer(watcher, deltas=3)
        cluster.a.signal(9)
        killed = time.monotonic()
        answer = await read_answer(watcher, seen, within=20)
        assert time.monotonic() - killed < 12  # lease 6 s + two sweeps (2 s each) + slack
        assert answer.end is not None and answer.end["status"] == "interrupted"
        assert answer.message is not None and answer.message["seq"] == answer.end["seq"] == 2
        assert answer.message["body"].startswith(answer.text) and answer.text
        assert answer.message["body"].endswith(DISCLAIMER)
        assert answer.message["triage"]["status"] == "interrupted"
        # The user can send again at once.
        ack = await watcher.send_message(channel, "it is still itchy")
        assert ack["type"] == "ack" and ack["seq"] == 3
        again = await read_answer(watcher, within=30)
        assert again.end is not None and again.end["status"] == "complete"
        await watcher.close()
