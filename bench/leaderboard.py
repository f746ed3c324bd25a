"""`make bench-board`: the study-group leaderboard benchmark (issue 10).

    .venv/bin/python -m bench.leaderboard [--members 1000] [--watchers 1000] [--rate 2000]
        [--duration 10] [--quick] [--out docs/benchmarks.md]

Starts `uvicorn app.main:create_app --factory --workers 2` (as `make bench` does), then
through REST: one study group of M members, a one-question quiz, and S sessions of it,
S = ceil(rate x duration / M). Every member may answer each session's (one, open for 300 s)
question once, so M x S answers are available: answer j is member j mod M answering
session j div M. All S sessions run at once in the one group, so every answer moves the
group's all-time board `leaderboard:{room}` (and its session's `quiz:{id}` board).

- Ingest: M member connections in --procs processes send `answer` frames at a fixed total
  rate; `answered` latency (send -> ack) p50/p99, achieved answers/s, refusals by code.
- Watchers: W connections (member tokens) subscribed to `leaderboard:{room}`; board
  frames per watcher per second while answers flow, and the final-state latency: time
  from the last acknowledged answer to the first board at each watcher whose version is
  the final one (read back through REST once the board stops moving).

The result replaces the "## Leaderboards (study groups)" section of --out (kept inside the
analysis block, which `make bench` preserves). Every process started here is stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import secrets
import shlex
import signal
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.cli import migrate
from app.settings import Settings
from bench import machine_info
from bench.board_clients import Procs, ingest_main, watch_main
from bench.board_report import section, summarize, write
from bench.board_setup import _final_version, _setup, _start_sessions
from bench.fanout import _terminate, log, server_env
from bench.loadgen import raise_nofile
from bench.scenarios import BenchError
from bench.server import DATA_DIR, ROOT, Sampler, Server, start_backing

QUICK = {"members": 200, "watchers": 200, "rate": 200.0, "duration": 5.0}
FULL = {"members": 1000, "watchers": 1000, "rate": 2000.0, "duration": 10.0}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench.leaderboard", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="200 members/watchers, 200 answers/s, 5 s")
    p.add_argument("--members", type=int, help="members of the group (1000)")
    p.add_argument("--watchers", type=int, help="connections watching the group board (1000)")
    p.add_argument("--rate", type=float, help="answers per second in total (2000)")
    p.add_argument("--duration", type=float, help="seconds of answering (10)")
    p.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    p.add_argument("--procs", type=int, default=2, help="ingest (and watcher) processes (2)")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = p.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if min(args.members, args.watchers, args.procs) < 1 or args.rate <= 0 or args.duration <= 0:
        p.error("members, watchers, procs, rate and duration must be positive")
    if args.members > 5000 or args.watchers > 20000 or args.rate > 20000 or args.duration > 120:
        p.error("at most 5,000 members, 20,000 watchers, 20,000 answers/s and 120 s")
    args.total = int(args.rate * args.duration)
    args.sessions = math.ceil(args.total / args.members)
    if args.sessions > 200:
        p.error("rate x duration / members must be at most 200 sessions")
    return args


def run(stack: ExitStack, args: argparse.Namespace, run_id: str) -> dict[str, Any]:
    backing = start_backing()
    stack.callback(backing.stop)
    log(f"backing: {backing.source}")
    migrate(Settings(database_url=backing.database_url, redis_url=backing.redis_url))
    env = server_env(backing, f"bench-{run_id}-board", secrets.token_urlsafe(48))
    env |= {"PARLEY_ARGON2_TIME_COST": "1", "PARLEY_ARGON2_MEMORY_KIB": "64"}
    server = Server(env, args.workers, DATA_DIR / f"server-{run_id}-board.log")
    stack.callback(server.stop)
    server.start()
    t = time.monotonic()
    world = asyncio.run(_setup(server.url, run_id, args.members, args.sessions))
    log(
        f"set-up: {args.members} members, {args.sessions} sessions in group {world['room']} "
        f"({time.monotonic() - t:.0f} s)"
    )
    tokens, sids = world["tokens"], world["sessions"]
    plan = [(j % args.members, sids[j // args.members]) for j in range(args.total)]
    procs = Procs(stack)
    n = args.procs
    for p in range(n):  # process p owns members m with m % n == p (local index m // n)
        mine = [(m // n, sid) for m, sid in plan if m % n == p]
        procs.spawn(
            ingest_main, "127.0.0.1", server.port, tokens[p::n], mine, world["question"],
            args.rate / n,
        )  # fmt: skip
    channel = f"leaderboard:{world['room']}"
    watchers = [tokens[i % len(tokens)] for i in range(args.watchers)]
    for p in range(n):
        procs.spawn(watch_main, "127.0.0.1", server.port, watchers[p::n], channel)
    procs.wait("ready", 2 * n, 120 + (args.members + args.watchers) / 20)
    log(f"open: {args.members} answering and {args.watchers} watching connections")
    asyncio.run(_start_sessions(server.url, world["owner"], sids))
    sampler = Sampler(server, procs.pids)
    sampler.start()
    stack.callback(sampler.stop)
    time.sleep(1.0)
    t0 = time.time() + 0.5
    log(f"answering: {args.rate:g}/s for {args.duration:g} s ({args.total} answers)")
    cpu_before = _server_cpu_seconds(server)
    procs.send(("go", t0), list(range(n)))
    ingested = [m[2] for m in procs.wait("ingested", n, args.duration + 90)]
    final = _final_version(server.url, world["owner"], world["room"])
    server_cpu = _server_cpu_seconds(server) - cpu_before
    stored = asyncio.run(_stored_answers(backing.database_url, world["sessions"]))
    procs.send(("report",), list(range(n, 2 * n)))
    watched = [m[2] for m in procs.wait("watched", n, 60)]
    resources = sampler.window(t0 + 1, t0 + args.duration)
    sampler.stop()
    procs.send(("stop",))
    procs.terminate()
    server.stop()
    result = summarize(args, t0, ingested, watched, final, resources, backing.source)
    result["server_cpu_seconds"] = server_cpu
    result["stored"] = stored
    return result


async def _stored_answers(database_url: str, sids: list[int]) -> int:
    """Answers the run stored (acknowledged or not: a late ack still cost the server)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            query = text("SELECT count(*) FROM session_answers WHERE session_id = ANY(:ids)")
            return int((await conn.execute(query, {"ids": sids})).scalar_one())
    finally:
        await engine.dispose()


def _server_cpu_seconds(server: Server) -> float:
    """CPU seconds (user + system) the server's processes used so far: divided by the
    answers stored, a cost per answer that other load on the machine does not change."""
    total = 0.0
    for p in server.processes():
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    nofile = raise_nofile()
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    run_id = datetime.now(UTC).strftime("%m%d%H%M%S") + secrets.token_hex(2)
    given = sys.argv[1:] if argv is None else argv
    command = " ".join(["python -m bench.leaderboard", *map(shlex.quote, given)])
    try:
        with ExitStack() as stack:
            result = run(stack, args, run_id)
    except KeyboardInterrupt:
        log("interrupted; everything started was stopped")
        return 130
    except BenchError as exc:
        log(f"failed: {exc}; everything started was stopped")
        return 1
    log(
        f"acked {result['acked_per_s']:.0f}/s; ack p50 {result['ack']['p50']:.1f} ms "
        f"p99 {result['ack']['p99']:.1f} ms; refused {result['refused']}; boards/watcher/s "
        f"{result['frames_per_watcher']['mean']:.2f}; final board p99 "
        f"{result['final_latency']['p99']:.0f} ms"
    )
    write(args.out, section(args, command, machine_info.machine(nofile), result))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
