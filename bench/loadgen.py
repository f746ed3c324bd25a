"""Load-generator processes: receivers (many subscribed connections) here, and a publisher
(bench/publisher.py).

Each runs its own uvloop event loop in its own process and talks to the orchestrator only
through multiprocessing queues: commands in (`ctl`), results and progress out (`out`).
Everything sent is plain data (tuples, dicts, bytes) so it pickles cheaply.
"""

from __future__ import annotations

import asyncio
import queue
import re
import resource
import signal
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.queues import Queue as MpQueue
from typing import TYPE_CHECKING, Any, TypeAlias

import uvloop

from bench.sioclient import sio_connect
from bench.wsclient import WsClient, WsError, authenticate, connect, subscribe

# The message frame as the server serializes it (pydantic, no spaces); the publisher puts
# its send time in the body as "bench <time.time_ns()>".
_MESSAGE = b'"type":"message"'
_FIELDS = re.compile(rb'"seq":(\d+),.*?"body":"bench (\d+)', re.S)
BODY_PREFIX = "bench "

Spec = tuple[str, str]  # (access token, channel)
PARLEY, SOCKETIO = "parley", "socketio"  # what the server under test speaks
if TYPE_CHECKING:
    Out: TypeAlias = MpQueue[tuple[Any, ...]]
else:
    Out = MpQueue


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Latencies:
    """Latencies in microseconds, bucketed by the second they were received in."""

    __slots__ = ("_arr", "_sec", "buckets", "last_ns")

    def __init__(self) -> None:
        self.last_ns = 0
        self.buckets: dict[int, array[int]] = {}
        self._sec = -1
        self._arr: array[int] = array("q")

    def add(self, now_ns: int, micros: int) -> None:
        self.last_ns = now_ns
        sec = now_ns // 1_000_000_000
        if sec != self._sec:
            self._sec = sec
            self._arr = self.buckets.setdefault(sec, array("q"))
        self._arr.append(micros)

    def export(self) -> dict[int, bytes]:
        out = {sec: arr.tobytes() for sec, arr in self.buckets.items()}
        self.buckets, self._sec = {}, -1
        return out


class Tracker:
    """One receiving connection: its channel, the seqs seen since `base`, anomalies."""

    __slots__ = ("base", "channel", "client", "dups", "lat", "node", "ooo", "seen", "top", "unique")

    def __init__(self, channel: str, lat: Latencies) -> None:
        self.channel = channel
        self.lat = lat
        self.client: WsClient | None = None
        self.node = ""
        self.reset(0)

    def reset(self, base: int) -> None:
        self.base = base
        self.top = base
        self.unique = self.dups = self.ooo = 0
        self.seen = bytearray(256)

    def on_text(self, payload: bytes, now_ns: int) -> bool:
        if _MESSAGE not in payload:
            return False
        m = _FIELDS.search(payload)
        if m is None:
            return False
        seq = int(m[1])
        self.lat.add(now_ns, (now_ns - int(m[2])) // 1000)
        idx = seq - self.base
        if idx <= 0:
            self.dups += 1  # at or below the step's base: a stale or repeated delivery
            return True
        seen = self.seen
        if idx >= len(seen):
            seen.extend(bytes(max(idx + 1 - len(seen), len(seen))))
        if seen[idx]:
            self.dups += 1
            return True
        seen[idx] = 1
        self.unique += 1
        if seq < self.top:
            self.ooo += 1
        else:
            self.top = seq
        return True


@dataclass
class OpenStats:
    connected: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    retried: Counter[str] = field(default_factory=Counter)
    nodes: Counter[str] = field(default_factory=Counter)


async def _join(tr: Tracker, token: str, host: str, port: int, protocol: str) -> WsClient:
    """Open, authenticate and subscribe one receiver; its frames go to the tracker."""
    if protocol == SOCKETIO:  # a peer: no auth, no history; seqs start at 1 every step
        sio = await sio_connect(host, port)
        try:
            joined = await sio.call("join", tr.channel)
        except BaseException:
            sio.client.close()
            raise
        tr.client, tr.node = sio.client, str(joined.get("node", "?"))
        tr.reset(0)
        sio.on_event = tr.on_text
        return sio.client
    client = await connect(host, port)
    try:
        hello = await authenticate(client, token)
        sub = await subscribe(client, tr.channel)
    except BaseException:
        client.close()
        raise
    tr.client, tr.node = client, str(hello.get("node", "?"))
    tr.reset(int(sub.get("head", 0)))
    client.fast = tr.on_text
    return client


async def _open(
    tr: Tracker, token: str, host: str, port: int, st: OpenStats, protocol: str
) -> None:
    for attempt in range(3):
        try:
            await _join(tr, token, host, port, protocol)
            st.connected += 1
            st.nodes[tr.node] += 1
            return
        except (OSError, TimeoutError, WsError, ValueError) as exc:
            reason = type(exc).__name__ + ": " + str(exc)[:80]
            if attempt == 2:
                st.failed[reason] += 1
            else:
                st.retried[reason] += 1
                await asyncio.sleep(0.5 * (attempt + 1))


async def _receivers(
    proc: int,
    host: str,
    port: int,
    specs: list[Spec],
    ctl: Out,
    out: Out,
    concurrency: int,
    protocol: str,
) -> None:
    lat = Latencies()
    trackers = [Tracker(channel, lat) for _, channel in specs]
    st = OpenStats()
    gate = asyncio.Semaphore(concurrency)

    async def one(tr: Tracker, token: str) -> None:
        async with gate:
            await _open(tr, token, host, port, st, protocol)

    started = time.monotonic()
    await asyncio.gather(*(one(tr, tok) for tr, (tok, _) in zip(trackers, specs, strict=True)))
    out.put(
        (
            "ready",
            proc,
            {
                "connected": st.connected,
                "failed": dict(st.failed),
                "retried": dict(st.retried),
                "nodes": dict(st.nodes),
                "seconds": time.monotonic() - started,
            },
        )
    )
    last_progress = 0.0
    while True:
        try:
            cmd = ctl.get_nowait()
        except queue.Empty:
            cmd = None
        if cmd is None:
            now = time.monotonic()
            if now - last_progress >= 0.5:
                last_progress = now
                out.put(("progress", proc, sum(t.unique for t in trackers)))
            await asyncio.sleep(0.1)
            continue
        if cmd[0] == "stop":
            break
        if cmd[0] == "reset":  # ("reset", {channel: base seq})
            lat.export()
            for tr in trackers:
                tr.reset(cmd[1].get(tr.channel, tr.top))
            out.put(("reset", proc))
        elif cmd[0] == "report":  # ("report", {channel: final head})
            out.put(("report", proc, _report(trackers, cmd[1], lat)))
    for tr in trackers:
        if tr.client is not None:
            tr.client.close()
    await asyncio.gather(*(t.client.wait_closed(5) for t in trackers if t.client is not None))


def _report(trackers: list[Tracker], finals: dict[str, int], lat: Latencies) -> dict[str, Any]:
    r: dict[str, Any] = {"unique": 0, "expected": 0, "missing": 0, "dups": 0, "ooo": 0}
    closed: Counter[str] = Counter()
    worst: list[tuple[int, str]] = []
    for tr in trackers:
        if tr.client is None:
            continue
        code = tr.client.close_code
        if code is not None:
            closed[str(code)] += 1
        expected = max(0, finals.get(tr.channel, tr.base) - tr.base)
        missing = max(0, expected - tr.unique)
        r["unique"] += tr.unique
        r["expected"] += expected
        r["missing"] += missing
        r["dups"] += tr.dups
        r["ooo"] += tr.ooo
        if missing or tr.dups or tr.ooo:
            worst.append((missing + tr.dups + tr.ooo, f"{tr.channel} m{missing} d{tr.dups}"))
    worst.sort(reverse=True)
    r["closed"] = dict(closed)
    r["worst"] = [w for _, w in worst[:5]]
    r["open"] = sum(1 for t in trackers if t.client is not None and t.client.close_code is None)
    r["last_recv"] = lat.last_ns / 1e9
    r["latency"] = lat.export()
    return r


def receiver_main(
    proc: int,
    host: str,
    port: int,
    specs: list[Spec],
    ctl: Out,
    out: Out,
    concurrency: int,
    protocol: str = PARLEY,
) -> None:
    """Entry point of a receiver process."""
    raise_nofile()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the orchestrator handles Ctrl-C
    try:
        uvloop.run(_receivers(proc, host, port, specs, ctl, out, concurrency, protocol))
    except Exception as exc:
        out.put(("failed", proc, repr(exc)))
        raise
