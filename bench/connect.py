"""The connect phase alone: server CPU per authenticated join (WebSocket open + `auth` +
`subscribe` to a room), against a real server process.

    .venv/bin/python -m bench.connect [--connections 2000] [--rooms 20] [--users 8]

Reports the wall time to open every connection and the server's CPU seconds (user +
system of its worker processes, from /proc) per join, which stays meaningful on a busy
machine where wall times do not. PostgreSQL and Redis CPU are not included (they are
shared with whatever else runs); the figure is the Python side of a join.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from urllib.parse import urlsplit

import psutil

from app.cli import migrate
from app.settings import Settings
from bench.fanout import server_env
from bench.loadgen import raise_nofile
from bench.scenarios import make_world
from bench.server import DATA_DIR, Server, start_backing
from bench.wsclient import WsClient, authenticate, connect, subscribe


def cpu_seconds(server: Server) -> float:
    total = 0.0
    for p in server.processes():
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


async def open_all(
    host: str, port: int, specs: list[tuple[str, str]], concurrency: int
) -> tuple[list[WsClient], int]:
    gate = asyncio.Semaphore(concurrency)
    clients: list[WsClient] = []
    failed = 0

    async def one(token: str, channel: str) -> None:
        nonlocal failed
        async with gate:
            try:
                client = await connect(host, port, within=60)
                await authenticate(client, token, within=60)
                await subscribe(client, channel, within=60)
                clients.append(client)
            except Exception:  # noqa: BLE001 - counted, reported
                failed += 1

    await asyncio.gather(*(one(t, c) for t, c in specs))
    return clients, failed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.connect", description=__doc__)
    p.add_argument("--connections", type=int, default=2000)
    p.add_argument("--rooms", type=int, default=20)
    p.add_argument("--users", type=int, default=8, help="distinct users (bench.fanout: 8)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=200, help="joins in flight at once")
    args = p.parse_args(argv)
    raise_nofile()
    run_id = datetime.now(UTC).strftime("%m%d%H%M%S") + secrets.token_hex(2)
    with ExitStack() as stack:
        backing = start_backing()
        stack.callback(backing.stop)
        migrate(Settings(database_url=backing.database_url, redis_url=backing.redis_url))
        env = server_env(backing, f"bench-{run_id}", secrets.token_urlsafe(48))
        server = Server(env, args.workers, DATA_DIR / f"server-{run_id}-connect.log")
        stack.callback(server.stop)
        server.start()
        world = make_world(server.url, run_id, args.users, args.rooms)
        specs = world.specs(args.connections)
        url = urlsplit(server.url)
        host, port = url.hostname, url.port
        assert host and port
        time.sleep(1.0)  # let start-up work settle before the CPU baseline

        async def run() -> tuple[int, int, float, float]:
            cpu0, t0 = cpu_seconds(server), time.monotonic()
            clients, failed = await open_all(host, port, specs, args.concurrency)
            wall, cpu = time.monotonic() - t0, cpu_seconds(server) - cpu0
            for c in clients:
                c.close()
            return len(clients), failed, wall, cpu

        opened, failed, wall, cpu = asyncio.run(run())
    joins = max(1, opened)
    print(
        f"{opened} joined ({failed} failed) over {args.rooms} rooms, {args.users} users, "
        f"{args.workers} workers: {wall:.1f} s wall; server CPU {cpu:.2f} s = "
        f"{cpu / joins * 1000:.2f} ms per join"
    )
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
