"""The two scenarios: fan-out at fixed publish rates, and idle connections' memory."""

from __future__ import annotations

import math
import multiprocessing as mp
import queue
import statistics
import time
from array import array
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from typing import Any

import httpx
import psutil

from bench.loadgen import PARLEY, Out, Spec, receiver_main
from bench.publisher import publisher_main
from bench.server import Sampler, Server

CTX = mp.get_context("spawn")


class BenchError(RuntimeError):
    pass


@dataclass
class World:
    """Users and rooms made through REST; many connections share a user's token."""

    tokens: list[str]
    rooms: list[int]

    def channel(self, i: int) -> str:
        return f"room:{self.rooms[i % len(self.rooms)]}"

    def specs(self, count: int) -> list[Spec]:
        return [(self.tokens[i % len(self.tokens)], self.channel(i)) for i in range(count)]

    def heads(self, url: str) -> dict[str, int]:
        with httpx.Client(base_url=url, timeout=30) as http:
            auth = {"Authorization": f"Bearer {self.tokens[0]}"}
            out = {}
            for room in self.rooms:
                r = http.get(f"/api/v1/rooms/{room}", headers=auth)
                r.raise_for_status()
                out[f"room:{room}"] = int(r.json()["head"])
            return out


def register_users(http: httpx.Client, prefix: str, count: int, name: str) -> list[str]:
    """Register `count` users `{prefix}-{i}@example.com`; their access tokens, in order."""
    password = "bench password 1234"
    tokens: list[str] = []
    for i in range(count):
        email = f"{prefix}-{i}@example.com"
        r = http.post(
            "/api/v1/auth/register",
            json={"email": email, "password": password, "display_name": f"{name} {i}"},
        )
        if r.status_code != 201:
            raise BenchError(f"register: {r.status_code} {r.text}")
        t = http.post("/api/v1/auth/token", data={"username": email, "password": password})
        if t.status_code != 200:
            raise BenchError(f"token: {t.status_code} {t.text}")
        tokens.append(t.json()["access_token"])
    return tokens


def make_world(url: str, tag: str, users: int, rooms: int) -> World:
    with httpx.Client(base_url=url, timeout=60) as http:
        tokens = register_users(http, f"bench-{tag}", users, "Bench")
        headers = [{"Authorization": f"Bearer {tok}"} for tok in tokens]
        room_ids = []
        for r_i in range(rooms):
            r = http.post("/api/v1/rooms", json={"name": f"bench {tag} {r_i}"}, headers=headers[0])
            if r.status_code != 201:
                raise BenchError(f"create room: {r.status_code} {r.text}")
            room = r.json()
            room_ids.append(int(room["id"]))
            for h in headers[1:]:
                j = http.post(
                    "/api/v1/rooms/join", json={"invite_code": room["invite_code"]}, headers=h
                )
                if j.status_code != 200:
                    raise BenchError(f"join: {j.status_code} {j.text}")
    return World(tokens, room_ids)


class Fleet:
    """Receiver processes, each owning a slice of the connections, and their mailbox."""

    def __init__(
        self, stack: ExitStack, server: Server, specs: list[Spec], procs: int, protocol: str
    ) -> None:
        self.protocol = protocol
        self.out: Out = CTX.Queue()
        self.ctls: list[Out] = []
        self.procs: list[SpawnProcess] = []
        self.progress: dict[int, int] = {}
        self.port = server.port
        slices = [specs[i::procs] for i in range(procs)]
        self.expected_channels = [[ch for _, ch in s] for s in slices]
        stack.callback(self.terminate)
        for i, chunk in enumerate(slices):
            ctl: Out = CTX.Queue()
            p = CTX.Process(
                target=receiver_main,
                args=(i, "127.0.0.1", server.port, chunk, ctl, self.out, 64, protocol),
                name=f"bench-recv-{i}",
            )
            p.start()
            self.ctls.append(ctl)
            self.procs.append(p)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid is not None]

    def wait(self, kind: str, count: int, within: float) -> list[tuple[Any, ...]]:
        """The next `count` messages of `kind`; progress messages are kept on the side."""
        got: list[tuple[Any, ...]] = []
        deadline = time.monotonic() + within
        while len(got) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"timed out waiting for {count} {kind!r} (got {len(got)})")
            try:
                msg = self.out.get(timeout=min(left, 0.5))
            except queue.Empty:
                if any(not p.is_alive() for p in self.procs):
                    raise BenchError("a load-generator process died") from None
                continue
            if msg[0] == "progress":
                self.progress[msg[1]] = msg[2]
            elif msg[0] == "failed":
                raise BenchError(f"load-generator process {msg[1]} failed: {msg[2]}")
            elif msg[0] == kind:
                if kind == "reset":
                    self.progress[msg[1]] = 0
                got.append(msg)
        return got

    def broadcast(self, cmd: tuple[Any, ...]) -> None:
        for ctl in self.ctls:
            ctl.put(cmd)

    def drain(self, expected: int, stall: float = 3.0, cap: float = 60.0) -> float:
        """Wait until receivers got `expected` messages or stop making progress."""
        start = time.monotonic()
        last_total, last_change = -1, start
        while time.monotonic() - start < cap:
            total = sum(self.progress.values())
            if total >= expected:
                break
            if total != last_total:
                last_total, last_change = total, time.monotonic()
            elif time.monotonic() - last_change > stall:
                break
            try:
                self.wait("__none__", 1, 0.3)
            except BenchError as exc:
                if "timed out" not in str(exc):
                    raise
        return time.monotonic() - start

    def terminate(self) -> None:
        for p in self.procs:
            if p.is_alive():
                p.terminate()
        for p in self.procs:
            p.join(5)
            if p.is_alive():
                p.kill()
                p.join(5)

    def stop(self) -> None:
        self.broadcast(("stop",))
        for p in self.procs:
            p.join(15)
        self.terminate()


def open_fleet(
    stack: ExitStack, server: Server, specs: list[Spec], procs: int, protocol: str = PARLEY
) -> dict[str, Any]:
    fleet = Fleet(stack, server, specs, procs, protocol)
    ready = fleet.wait("ready", procs, 120 + len(specs) / 20)
    nodes: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    retried: Counter[str] = Counter()
    for _, _, info in ready:
        nodes.update(info["nodes"])
        failed.update(info["failed"])
        retried.update(info["retried"])
    connected = sum(info["connected"] for _, _, info in ready)
    if connected < len(specs) * 0.9:
        raise BenchError(f"only {connected} of {len(specs)} connections opened: {dict(failed)}")
    return {
        "fleet": fleet,
        "connected": connected,
        "failed": dict(failed),
        "retried": dict(retried),
        "nodes": dict(nodes),
        "open_seconds": max(info["seconds"] for _, _, info in ready),
    }


def percentiles(values: list[int]) -> dict[str, float]:
    if not values:
        return {"p50": math.nan, "p99": math.nan, "max": math.nan, "n": 0}
    values.sort()
    n = len(values)
    return {
        "p50": values[int(0.50 * (n - 1))] / 1000,
        "p99": values[int(0.99 * (n - 1))] / 1000,
        "max": values[-1] / 1000,
        "n": n,
    }


def run_step(
    fleet: Fleet,
    server: Server,
    world: World,
    sampler: Sampler,
    rate: float,
    duration: float,
    tag: str,
    publishers: int,
) -> dict[str, Any]:
    peer = fleet.protocol != PARLEY
    # A peer stores nothing: its publisher numbers each channel from 1 every step.
    bases = {f"room:{r}": 0 for r in world.rooms} if peer else world.heads(server.url)
    fleet.broadcast(("reset", bases))
    fleet.wait("reset", len(fleet.procs), 60)
    pubs = [(world.tokens[i % len(world.tokens)], world.channel(i)) for i in range(publishers)]
    pub = CTX.Process(
        target=publisher_main,
        args=("127.0.0.1", server.port, pubs, rate, duration, tag, fleet.out, fleet.protocol),
        name="bench-pub",
    )
    pub.start()
    sampler.loadgen_pids.append(pub.pid or 0)
    try:
        (_, _, published), *_ = fleet.wait("published", 1, duration + 120)
    finally:
        pub.join(10)
        if pub.is_alive():
            pub.kill()
    finals = bases | published["heads"] if peer else stable_heads(world, server.url)
    expected = sum(
        finals[ch] - bases[ch] for channels in fleet.expected_channels for ch in channels
    )
    fleet.drain(expected)
    fleet.broadcast(("report", finals))
    reports = [r[2] for r in fleet.wait("report", len(fleet.procs), 120)]
    return summarize(rate, duration, published, reports, finals, bases, sampler)


def stable_heads(world: World, url: str, within: float = 60.0) -> dict[str, int]:
    """Room heads once they stop moving (sends the server still had queued get stored)."""
    heads = world.heads(url)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        time.sleep(1.0)
        again = world.heads(url)
        if again == heads:
            break
        heads = again
    return heads


def wait_quiet(limit: float, within: float) -> tuple[float, float]:
    """Wait (at most `within` s) until the whole machine uses under `limit` % of one core:
    other people's test runs on a 2-core machine would otherwise be measured too.
    Returns (seconds waited, busy % when we went ahead)."""
    start = time.monotonic()
    cores = psutil.cpu_count() or 1
    busy = psutil.cpu_percent(2.0) * cores
    while busy >= limit and time.monotonic() - start < within:
        busy = psutil.cpu_percent(2.0) * cores
    return time.monotonic() - start, busy


def summarize(
    rate: float,
    duration: float,
    pub: dict[str, Any],
    reports: list[dict[str, Any]],
    finals: dict[str, int],
    bases: dict[str, int],
    sampler: Sampler,
) -> dict[str, Any]:
    per_sec: Counter[int] = Counter()
    lat: list[int] = []
    steady: list[int] = []
    t0, t1 = pub["wall_start"], pub["wall_end"]
    first, last = math.ceil(t0) + 1, math.floor(t1) - 1
    by_sec: dict[int, list[int]] = {}
    for rep in reports:
        for sec, raw in rep["latency"].items():
            arr = array("q")
            arr.frombytes(raw)
            per_sec[sec] += len(arr)
            lat.extend(arr)
            by_sec.setdefault(sec, []).extend(arr)
            if first <= sec <= last:
                steady.extend(arr)
    # p99 of each second of receiving, in ms, from the first send on: shows periodic stalls.
    p99_by_second = [
        round(percentiles(by_sec[sec])["p99"]) for sec in sorted(by_sec) if sec >= int(t0)
    ]
    steady_secs = [per_sec[s] for s in range(first, last + 1)]
    ack = array("q")
    ack.frombytes(pub["ack_us"])
    totals = {
        k: sum(r[k] for r in reports)
        for k in ("unique", "expected", "missing", "dups", "ooo", "open")
    }
    closed: Counter[str] = Counter()
    for r in reports:
        closed.update(r["closed"])
    stored = sum(finals.values()) - sum(bases.values())
    return {
        "rate": rate,
        "duration": duration,
        "sent": pub["sent"],
        "acked": pub["acked"],
        "unanswered": pub["unanswered"],
        "send_errors": pub["errors"],
        "publisher_closed": pub["closed"],
        "publishers": pub["publishers"],
        "publisher_max_lag_ms": pub["max_lag"] * 1000,
        "send_seconds": pub["send_seconds"],
        "stored": stored,
        "stored_per_s": stored / max(pub["send_seconds"], pub["last_ack"] - t0),
        "expected_per_s": totals["expected"] / pub["send_seconds"],
        "offered_per_s": rate * totals["open"] / max(1, len(finals)),
        "delivered_per_s_steady": statistics.fmean(steady_secs) if steady_secs else math.nan,
        "delivered_per_s_peak": max(per_sec.values()) if per_sec else 0,
        "delivered_per_s_overall": totals["unique"]
        / max(pub["send_seconds"], max(r["last_recv"] for r in reports) - t0),
        "drain_seconds": max(0.0, max(r["last_recv"] for r in reports) - t1),
        "latency": percentiles(lat),
        "latency_steady": percentiles(steady),
        "p99_by_second": p99_by_second,
        "ack": percentiles(list(ack)),
        "receivers_open": totals["open"],
        "unique": totals["unique"],
        "expected": totals["expected"],
        "missing": totals["missing"],
        "dups": totals["dups"],
        "ooo": totals["ooo"],
        "closed": dict(closed),
        "worst": [w for r in reports for w in r["worst"]][:5],
        "resources": sampler.window(t0 + 1, t1),
    }


def rss_now(server: Server, samples: int = 3, gap: float = 1.0) -> dict[int, int]:
    """Median RSS per server process over a few samples."""
    seen: dict[int, list[int]] = {}
    for i in range(samples):
        for pid, rss in server.rss().items():
            seen.setdefault(pid, []).append(rss)
        if i + 1 < samples:
            time.sleep(gap)
    return {pid: int(statistics.median(v)) for pid, v in seen.items()}


def node_pid(node: str) -> int:
    """Worker ids are "<host>-<pid>-<hex>"."""
    parts = node.rsplit("-", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else -1
