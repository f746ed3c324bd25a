"""The path every newcomer takes: `parley serve` with nothing configured.

No DATABASE_URL, no REDIS_URL, no CI, an empty data folder: the server must start its
embedded PostgreSQL and Redis (the latter over a unix socket), and two people on two
different workers must be able to chat, over WebSocket and SSE. SIGTERM must then stop
everything it started. This test runs in every `make test`, CI included, because CI's own
services would otherwise hide a broken default (it once did: issue 6).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.servers import free_port
from tests.support import Api, User, WsClient

pytestmark = [pytest.mark.processes, pytest.mark.timeout(240)]

PARLEY = Path(sys.executable).parent / "parley"


def _env_with_nothing_configured(data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PARLEY_", "TEST_", "OPENAI_"))
        and k not in {"DATABASE_URL", "REDIS_URL", "CI"}
    }
    env["PARLEY_DATA_DIR"] = str(data_dir)
    return env


def _processes_using(data_dir: Path) -> list[psutil.Process]:
    """Every process (postgres, redis-server, parley) whose command line names the folder."""
    needle = str(data_dir)
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if any(needle in part for part in proc.info["cmdline"] or ()):
                found.append(proc)
    return found


class ZeroSetupServer:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.data_dir = workdir / "var"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [str(PARLEY), "serve", "--workers", "2", "--port", str(self.port)],
                cwd=self.workdir,  # no .env here
                env=_env_with_nothing_configured(self.data_dir),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait_ready(self, within: float = 150) -> None:
        async with asyncio.timeout(within), httpx.AsyncClient(timeout=2) as http:
            while True:
                assert self.proc is not None and self.proc.poll() is None, self.log
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.2)

    def terminate(self, within: float = 60) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(within)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for proc in _processes_using(self.data_dir):
            with contextlib.suppress(psutil.Error):
                proc.kill()


@pytest.fixture
def zero_setup(workdir: Path) -> Iterator[ZeroSetupServer]:
    assert PARLEY.is_file(), f"{PARLEY} is not installed"
    server = ZeroSetupServer(workdir)
    assert not server.data_dir.exists()
    server.start()
    try:
        yield server
    finally:
        server.kill()  # only does anything when the test failed half-way


@contextlib.asynccontextmanager
async def clients_on_two_workers(
    server: ZeroSetupServer, api: Api, user: User, within: float = 90
) -> AsyncIterator[tuple[WsClient, WsClient]]:
    """Two authenticated sockets that landed on different worker processes.

    The workers share one listening socket, and `/readyz` answering says only that *a*
    worker is up: on a loaded machine the other can still be starting, and every
    connection lands on the first. So keep connecting until both have answered, within a
    deadline, holding one socket per worker and closing the rest.
    """
    by_node: dict[str, WsClient] = {}
    try:
        try:
            async with asyncio.timeout(within):
                while len(by_node) < 2:
                    client = await WsClient.open(api.ws_url, user.token)
                    if client.hello["node"] in by_node:
                        await client.close()
                        await asyncio.sleep(0.1)  # give the other worker's accept a turn
                    else:
                        by_node[client.hello["node"]] = client
        except TimeoutError:
            pytest.fail(f"only worker {list(by_node)} answered within {within} s:\n{server.log}")
        first, second = by_node.values()
        yield first, second
    finally:
        for client in by_node.values():
            await client.close()


async def sse_message_bodies(http: httpx.AsyncClient, user: User, room: int) -> list[str]:
    """Read the room's SSE stream from the start until one message event arrived."""
    bodies: list[str] = []
    async with http.stream(
        "GET", f"/api/v1/rooms/{room}/events?since=0", headers=user.headers
    ) as stream:
        assert stream.status_code == 200
        event = None
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "message":
                bodies.append(json.loads(line.split(":", 1)[1])["body"])
                return bodies
    return bodies


async def test_a_fresh_install_serves_a_chat_across_two_workers_and_stops_cleanly(
    zero_setup: ZeroSetupServer,
) -> None:
    await zero_setup.wait_ready()
    # It really runs on the embedded services, from the empty folder it was given.
    assert (zero_setup.data_dir / "pg" / "PG_VERSION").is_file()
    assert (zero_setup.data_dir / "redis" / "redis.sock").exists()

    async with httpx.AsyncClient(base_url=zero_setup.url, timeout=10) as http:
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text

        api = Api(http, f"ws://127.0.0.1:{zero_setup.port}/ws")
        asha, ravi = await api.user("Asha"), await api.user("Ravi")
        room = await api.room(asha, ravi)

        async with (
            clients_on_two_workers(zero_setup, api, asha) as (asha_ws, _),
            clients_on_two_workers(zero_setup, api, ravi) as (ravi_a, ravi_b),
        ):
            # Asha writes from one worker; Ravi listens on both workers.
            assert ravi_a.hello["node"] != ravi_b.hello["node"]
            for client in (asha_ws, ravi_a, ravi_b):
                subscribed = await client.subscribe(f"room:{room}")
                assert subscribed["head"] == 0
            ack = await asha_ws.send_message(f"room:{room}", "Shall we revise the Krebs cycle?")
            assert ack["type"] == "ack", ack
            assert ack["seq"] == 1
            for client in (ravi_a, ravi_b):
                [message] = await client.messages(1)
                assert message["body"] == "Shall we revise the Krebs cycle?"
                assert message["author"]["name"] == "Asha"

        assert await asyncio.wait_for(sse_message_bodies(http, ravi, room), 20) == [
            "Shall we revise the Krebs cycle?"
        ]

    started = _processes_using(zero_setup.data_dir)
    assert any("postgres" in p.name() for p in started), [p.name() for p in started]
    assert any("redis" in p.name() for p in started), [p.name() for p in started]

    assert zero_setup.terminate() == 0, zero_setup.log
    _, alive = psutil.wait_procs(started, timeout=30)
    assert not alive, f"left running after SIGTERM: {[p.name() for p in alive]}"
    assert "Traceback" not in zero_setup.log, zero_setup.log
    assert "Task exception was never retrieved" not in zero_setup.log, zero_setup.log
