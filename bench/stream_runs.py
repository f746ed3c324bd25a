"""The phases of a `bench.streaming` run: client processes started and collected, the bot
conversations set up through REST, the server's CPU read, and the optional py-spy profile."""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import queue
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.scenarios import BenchError, register_users
from bench.server import Sampler, Server
from bench.stream_clients import direct_main, parley_main

CTX = mp.get_context("spawn")
USERS = 10


def _collect(out: Any, kind: str, count: int, within: float) -> list[Any]:
    got: list[Any] = []
    deadline = time.monotonic() + within
    while len(got) < count:
        try:
            msg = out.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty as exc:
            raise BenchError(f"waiting for {kind}: {len(got)}/{count} in {within:.0f} s") from exc
        if msg[0] == "failed":
            raise BenchError(f"a client process failed: {msg[1]}")
        if msg[0] == kind:
            got.append(msg[1])
    return got


def _stop_procs(procs: list[Any]) -> None:
    for p in procs:
        p.join(5)
        if p.is_alive():
            p.terminate()
            p.join(5)


def run_direct(args: argparse.Namespace, up_port: int) -> tuple[list[dict[str, Any]], float]:
    jobs = [(c, c * args.ramp / args.streams) for c in range(args.streams)]
    out: Any = CTX.Queue()
    start = time.time() + 3.0
    procs = [
        CTX.Process(
            target=direct_main, args=(up_port, jobs[i :: args.procs], start, args.timeout, out)
        )
        for i in range(args.procs)
    ]
    try:
        for p in procs:
            p.start()
        results = [
            r for chunk in _collect(out, "done", len(procs), args.timeout + 60) for r in chunk
        ]
    finally:
        _stop_procs(procs)
    return results, start


def make_conversations(url: str, tag: str, streams: int) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    with httpx.Client(base_url=url, timeout=60) as http:
        tokens = register_users(http, f"bench-stream-{tag}", min(USERS, streams), "Streamer")
        for n in range(streams):
            tok = tokens[n % len(tokens)]
            r = http.post(
                "/api/v1/rooms",
                json={"kind": "bot_conversation"},
                headers={"Authorization": f"Bearer {tok}"},
            )
            if r.status_code != 201:
                raise BenchError(f"create conversation: {r.status_code} {r.text}")
            out.append((tok, int(r.json()["id"])))
    return out


def run_parley(
    args: argparse.Namespace, server: Server, convs: list[tuple[str, int]]
) -> tuple[list[dict[str, Any]], dict[str, float], int]:
    base = 100000
    jobs = [
        (base + n, n * args.ramp / args.streams, tok, room) for n, (tok, room) in enumerate(convs)
    ]
    out: Any = CTX.Queue()
    ctls: list[Any] = [CTX.Queue() for _ in range(args.procs)]
    procs = [
        CTX.Process(
            target=parley_main,
            args=(server.port, jobs[i :: args.procs], ctls[i], out, args.timeout, args.warmup),
        )
        for i in range(args.procs)
    ]
    sampler: Sampler | None = None
    profilers: list[subprocess.Popen[bytes]] = []
    try:
        for p in procs:
            p.start()
        ready = sum(_collect(out, "ready", len(procs), 120 + args.timeout))
        sampler = Sampler(server, [p.pid for p in procs if p.pid is not None])
        sampler.start()
        time.sleep(2)
        start = time.time() + 1.0
        cpu0 = server_cpu(server)
        for c in ctls:
            c.put(start)
        if args.profile is not None:
            # Until every answer has ended (SIGINT below), however long a starved server
            # takes: a fixed window would profile the sends and miss the streaming.
            profilers = profile(server, args.profile, args.timeout + 60)
        results = [
            r for chunk in _collect(out, "done", len(procs), args.timeout + 60) for r in chunk
        ]
        resources = sampler.window(start, time.time())
        resources["cpu_seconds_server"] = server_cpu(server) - cpu0
    finally:
        if sampler is not None:
            sampler.stop()
        for prof in profilers:
            prof.send_signal(signal.SIGINT)  # py-spy writes what it has and exits
        for prof in profilers:
            prof.wait(60)
        _stop_procs(procs)
    return results, resources, ready


def server_cpu(server: Server) -> float:
    """CPU seconds (user + system) used so far by the server's processes."""
    total = 0.0
    for p in server.processes():
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def profile(server: Server, into: Path, seconds: float) -> list[subprocess.Popen[bytes]]:
    """`py-spy record` (collapsed stacks) of each worker while the answers stream; needs
    py-spy installed and ptrace allowed. Not part of the figures: a sampling profiler
    costs the workers a little CPU itself."""
    into.mkdir(parents=True, exist_ok=True)
    workers = [p for p in server.processes() if server.proc and p.pid != server.proc.pid]
    spy = str(Path(sys.executable).with_name("py-spy"))
    out = []
    for p in workers:
        to = str(into / f"w-{p.pid}.txt")
        cmd = [spy, "record", "--format", "raw", "--rate", "200", "--nonblocking",
               "-d", str(int(seconds)), "-p", str(p.pid), "-o", to]  # fmt: skip
        out.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return out
