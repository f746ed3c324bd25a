"""The issue's "Done means": kill -9 the worker a client is connected to while messages
flow, and the application still sees every message exactly once, in order, with no help.

Real processes: one `uvicorn --workers 2` server (two workers sharing one port, as in
production behind one address), real PostgreSQL and Redis. The sender is a second client
that may itself lose its worker; its sends are resent and stored once.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import httpx
import psutil
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from client import Backoff, MessageEvent, ParleyClient, RestTokens
from tests.backing import Backing
from tests.conftest import make_settings
from tests.servers import ServerProcess
from tests.support import Api, User

pytestmark = [pytest.mark.processes, pytest.mark.timeout(180)]

N = 150


@pytest.fixture
async def two_workers(
    db: AsyncEngine, backing: Backing, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    settings = make_settings(
        backing,
        redis_prefix,
        tmp_path_factory.mktemp("failover"),
        ws_rate_per_second=10_000,
        ws_rate_burst=10_000,
        presence_ttl_seconds=4,
    )
    server = ServerProcess(settings, workers=2)
    server.start()
    try:
        await server.wait_ready()
        yield server
    finally:
        server.stop()


def worker_pid(node: str) -> int:
    """`hello.node` is `<host>-<pid>-<suffix>` (app/main.py `node_id`)."""
    return int(node.rsplit("-", 2)[1])


def tokens(server: ServerProcess, http: httpx.AsyncClient, user: User) -> RestTokens:
    return RestTokens(
        server.url,
        username=user.email,
        password=user.password,
        access_token=user.token,
        refresh_token=user.refresh_token,
        http=http,
    )


async def test_kill_9_of_the_clients_worker_loses_and_repeats_nothing(
    two_workers: ServerProcess,
) -> None:
    server = two_workers
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        api = Api(http, server.ws_url)
        asha, ravi = await api.user("Asha"), await api.user("Ravi")
        room = await api.room(asha, ravi)
        channel = f"room:{room}"
        fast = Backoff(base=0.2, cap=2)
        async with (
            ParleyClient(server.ws_url, tokens(server, http, ravi), backoff=fast) as reader,
            ParleyClient(server.ws_url, tokens(server, http, asha), backoff=fast) as writer,
        ):
            assert reader.hello is not None
            victim = worker_pid(reader.hello.node)
            assert server.proc is not None
            assert victim in {p.pid for p in psutil.Process(server.proc.pid).children()}
            sub = await reader.subscribe(channel)

            async def produce() -> list[int]:
                # One at a time, so message i is seq i: any gap or repeat shows in the bodies.
                return [(await writer.send(channel, f"m{i}")).seq for i in range(1, N + 1)]

            producing = asyncio.create_task(produce())
            seen: list[MessageEvent] = []
            async with asyncio.timeout(120):
                async for event in sub:
                    if not isinstance(event, MessageEvent):
                        continue
                    seen.append(event)
                    if len(seen) == N // 3:
                        os.kill(victim, signal.SIGKILL)  # mid-stream, no close frame
                    if len(seen) == N:
                        break
            acked = await asyncio.wait_for(producing, 60)

            assert [m.body for m in seen] == [f"m{i}" for i in range(1, N + 1)]
            assert [m.seq for m in seen] == list(range(1, N + 1)) == acked
            assert reader.stats.connects >= 2 and reader.stats.resubscribes >= 1
            assert reader.hello is not None and worker_pid(reader.hello.node) != victim

        history = (
            await http.get(
                f"/api/v1/rooms/{room}/messages", params={"limit": 200}, headers=asha.headers
            )
        ).json()
        assert [m["body"] for m in history["items"]] == [f"m{i}" for i in range(1, N + 1)]
