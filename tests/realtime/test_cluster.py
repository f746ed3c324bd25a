"""Fan-out, ordering and recovery across real worker processes sharing one Redis."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests.backing import Backing
from tests.conftest import make_settings
from tests.servers import ServerProcess
from tests.support import Api, WsClient

pytestmark = pytest.mark.processes


class Cluster:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.a = ServerProcess(settings)
        self.b = ServerProcess(settings)

    async def start(self) -> None:
        self.a.start()
        self.b.start()
        await asyncio.gather(self.a.wait_ready(), self.b.wait_ready())

    def stop(self) -> None:
        self.a.stop()
        self.b.stop()

    @asynccontextmanager
    async def apis(self) -> AsyncIterator[tuple[Api, Api]]:
        """A REST + WebSocket client for each of the two servers."""
        async with (
            httpx.AsyncClient(base_url=self.a.url, timeout=10) as ha,
            httpx.AsyncClient(base_url=self.b.url, timeout=10) as hb,
        ):
            yield Api(ha, self.a.ws_url), Api(hb, self.b.ws_url)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Cluster]:
    """Two server processes on these settings, stopped whatever happens."""
    c = Cluster(settings)
    try:
        await c.start()
        yield c
    finally:
        c.stop()


def cluster_settings(backing: Backing, prefix: str, data_dir: Path, **extra: Any) -> Settings:
    return make_settings(
        backing,
        prefix,
        data_dir,
        ws_rate_per_second=10_000,
        ws_rate_burst=10_000,
        presence_ttl_seconds=4,
        **extra,
    )


async def test_a_message_sent_on_one_worker_reaches_subscribers_on_the_other(
    apis: tuple[Api, Api],
) -> None:
    on_a, on_b = apis
    asha, ravi = await on_a.user("Asha"), await on_a.user("Ravi")
    room = await on_a.room(asha, ravi)
    channel = f"room:{room}"
    a, b = await on_a.ws(asha), await on_b.ws(ravi)
    assert a.hello["node"] != b.hello["node"]
    await a.subscribe(channel)
    await b.subscribe(channel)
    ack = await a.send_message(channel, "across workers")
    (seen_b,) = await b.messages(1)
    (seen_a,) = await a.messages(1)
    assert seen_a == seen_b and seen_b["seq"] == ack["seq"] == 1
    # Presence is the same from both workers.
    probe_a, probe_b = await on_a.ws(asha), await on_b.ws(ravi)
    for probe in (probe_a, probe_b):
        await probe.request({"type": "subscribe", "channel": channel})
    presence_a, presence_b = await probe_a.recv(), await probe_b.recv()
    assert (
        presence_a["online"]
        == presence_b["online"]
        == [
            {"id": asha.id, "name": "Asha"},
            {"id": ravi.id, "name": "Ravi"},
        ]
    )
    for c in (a, b, probe_a, probe_b):
        await c.close()


async def test_concurrent_senders_on_both_workers_yield_one_gap_free_order(
    apis: tuple[Api, Api],
) -> None:
    """2 workers x 4 senders x 250 messages: every subscriber sees seq 1..1000 once, in order."""
    on_a, on_b = apis
    owner = await on_a.user("Owner")
    senders = [await on_a.user(f"Sender{i}") for i in range(4)]
    readers = [await on_a.user(f"Reader{i}") for i in range(4)]
    room = await on_a.room(owner, *senders, *readers)
    channel = f"room:{room}"
    subscribers = [await (on_a if i % 2 else on_b).ws(u) for i, u in enumerate(readers)]
    for s in subscribers:
        await s.subscribe(channel)
    sockets = [await (on_a if i % 2 else on_b).ws(u) for i, u in enumerate(senders)]

    async def send_all(ws: WsClient, who: int) -> list[int]:
        seqs = []
        for n in range(250):
            ack = await ws.send_message(channel, f"{who}:{n}", client_id=f"{who}-{n}")
            assert ack["type"] == "ack", ack
            seqs.append(ack["seq"])
        return seqs

    receiving = [asyncio.create_task(s.messages(1000, within=120)) for s in subscribers]
    acked = await asyncio.gather(*(send_all(ws, i) for i, ws in enumerate(sockets)))
    assert sorted(seq for seqs in acked for seq in seqs) == list(range(1, 1001))
    for got in await asyncio.gather(*receiving):
        assert [m["seq"] for m in got] == list(range(1, 1001))
        for who in range(4):  # each sender's messages keep their send order
            mine = [int(m["body"].split(":")[1]) for m in got if m["body"].startswith(f"{who}:")]
            assert mine == list(range(250))
    for c in subscribers + sockets:
        await c.close()


async def test_sse_on_one_worker_resumes_with_last_event_id(apis: tuple[Api, Api]) -> None:
    on_a, on_b = apis
    asha = await on_a.user("Asha")
    room = await on_a.room(asha)
    for i in range(5):
        await on_a.post(asha, room, f"m{i}")
    got: list[tuple[str | None, str]] = []
    headers = {**asha.headers, "Last-Event-ID": "2"}
    async with on_b.http.stream("GET", f"/api/v1/rooms/{room}/events", headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["x-accel-buffering"] == "no"
        event_id: str | None = None
        async for line in r.aiter_lines():
            if line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("event: message"):
                got.append((event_id, line))
                if len(got) == 3:
                    break
            elif line == "":
                event_id = None
    assert [eid for eid, _ in got] == ["3", "4", "5"]


@pytest.fixture
async def private_redis_cluster(
    schema: object, backing: Backing, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Cluster, Any]]:
    from tests.servers import RedisProcess

    redis = RedisProcess()
    redis.start()
    b = Backing(backing.database_url, redis.url)
    settings = cluster_settings(
        b, f"parley-rr-{secrets.token_hex(3)}", tmp_path_factory.mktemp("rr")
    )
    try:
        async with running(settings) as c:
            yield c, redis
    finally:
        redis.kill()


async def test_clients_keep_working_across_a_redis_restart(
    private_redis_cluster: tuple[Cluster, Any],
) -> None:
    cluster, redis = private_redis_cluster
    async with cluster.apis() as (on_a, on_b):
        asha, ravi = await on_a.user("Asha"), await on_a.user("Ravi")
        room = await on_a.room(asha, ravi)
        channel = f"room:{room}"
        sender, reader_b = await on_a.ws(asha), await on_b.ws(ravi)
        await reader_b.subscribe(channel)
        await sender.subscribe(channel)
        for i in range(5):
            assert (await sender.send_message(channel, f"before {i}"))["type"] == "ack"

        redis.kill()
        # While Redis is down, an authenticated socket can still store messages: the ack
        # means committed; fan-out catches up once Redis is back.
        for i in range(5):
            ack = await sender.send_message(channel, f"during {i}")
            assert ack["type"] == "ack", ack
        redis.start()

        # Subscribers on both workers receive everything, in order, no gap or duplicate.
        got_b = await reader_b.messages(10, within=30)
        assert [m["seq"] for m in got_b] == list(range(1, 11))
        ack = await sender.send_message(channel, "after")
        assert ack["seq"] == 11
        (after,) = await reader_b.messages(1, within=30)
        assert after["seq"] == 11
        await sender.close()
        await reader_b.close()


@pytest.fixture
async def doomed_cluster(
    schema: object, backing: Backing, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    settings = cluster_settings(backing, redis_prefix, tmp_path_factory.mktemp("doomed"))
    async with running(settings) as c:
        yield c


async def test_kill_9_a_worker_and_its_clients_recover_on_the_other(
    doomed_cluster: Cluster,
) -> None:
    cluster = doomed_cluster
    async with cluster.apis() as (on_a, on_b):
        asha, ravi = await on_b.user("Asha"), await on_b.user("Ravi")
        room = await on_b.room(asha, ravi)
        channel = f"room:{room}"
        victim, watcher = await on_a.ws(ravi), await on_b.ws(asha)
        await watcher.subscribe(channel)
        await victim.subscribe(channel)
        for i in range(10):
            await on_b.post(asha, room, f"m{i}")
        seen = await victim.messages(10)
        last = seen[-1]["seq"]

        cluster.a.signal(9)
        await victim.closed_with(within=10)
        # The crashed worker's connection leaves presence within a bounded time.
        leave = await watcher.expect(
            "leave", within=30, skip=frozenset({"presence", "join", "message", "ping"})
        )
        assert leave["user"]["id"] == ravi.id
        for i in range(10, 30):
            await on_b.post(asha, room, f"m{i}")

        again = await on_b.ws(ravi)
        reply = await again.subscribe(channel, since=last)
        assert reply["recovered"] is True
        got = await again.messages(20)
        assert [m["seq"] for m in got] == list(range(11, 31))
        await again.close()
        await watcher.close()


async def test_sigterm_tells_clients_to_reconnect_and_loses_nothing_acked(
    doomed_cluster: Cluster,
) -> None:
    cluster = doomed_cluster
    async with cluster.apis() as (on_a, on_b):
        hb = on_b.http
        asha = await on_b.user("Asha")
        room = await on_b.room(asha)
        channel = f"room:{room}"
        ws = await on_a.ws(asha)
        await ws.subscribe(channel)
        acked = [(await ws.send_message(channel, f"m{i}"))["seq"] for i in range(10)]
        cluster.a.signal(15)
        assert await ws.closed_with(within=20) == 1012
        history = (await hb.get(f"/api/v1/rooms/{room}/messages", headers=asha.headers)).json()
        assert [m["seq"] for m in history["items"]] == acked
