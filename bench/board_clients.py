"""The load-generator processes of `bench.leaderboard`: members sending `answer` frames at a
fixed rate (`ingest_main`), watchers of the group board (`watch_main`), and `Procs`,
which starts, commands and collects them."""

from __future__ import annotations

import asyncio
import json
import queue
import signal
import time
from array import array
from collections import Counter
from contextlib import ExitStack
from multiprocessing.context import SpawnProcess
from typing import Any

import uvloop

from bench.loadgen import Out, raise_nofile
from bench.scenarios import CTX, BenchError
from bench.wsclient import WsClient, WsError, authenticate, connect, subscribe


async def _open(token: str, host: str, port: int, channel: str | None) -> WsClient:
    for attempt in range(3):
        client: WsClient | None = None
        try:
            client = await connect(host, port)
            await authenticate(client, token)
            if channel is not None:
                await subscribe(client, channel)
            return client
        except (OSError, TimeoutError, WsError) as exc:
            if client is not None:
                client.close()
            if attempt == 2:
                raise BenchError(f"could not open a connection: {exc!r}") from exc
            await asyncio.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


async def _gather_open(items: list[tuple[str, str | None]], host: str, port: int) -> list[WsClient]:
    gate = asyncio.Semaphore(64)

    async def one(token: str, channel: str | None) -> WsClient:
        async with gate:
            return await _open(token, host, port, channel)

    return await asyncio.gather(*(one(t, c) for t, c in items))


async def _wait_cmd(ctl: Out) -> tuple[Any, ...]:
    while True:
        try:
            cmd: tuple[Any, ...] = ctl.get_nowait()
            return cmd
        except queue.Empty:
            await asyncio.sleep(0.05)


async def _ingest(
    host: str, port: int, tokens: list[str], plan: list[tuple[int, int]], question: int,
    rate: float, ctl: Out, out: Out, proc: int,
) -> None:  # fmt: skip
    clients = await _gather_open([(t, None) for t in tokens], host, port)
    sent: dict[str, int] = {}
    ack_us: array[int] = array("q")
    refused: Counter[str] = Counter()
    last_ack = 0

    def on_frame(frame: dict[str, Any]) -> None:
        nonlocal last_ack
        start = sent.pop(str(frame.get("ref")), None)
        if start is None:
            return
        now = time.time_ns()
        if frame.get("type") == "answered":
            ack_us.append((now - start) // 1000)
            last_ack = max(last_ack, now)
        elif frame.get("type") == "error":
            refused[str(frame.get("code"))] += 1

    for c in clients:
        c.on_frame = on_frame
    out.put(("ready", proc))
    _, t0 = await _wait_cmd(ctl)
    loop = asyncio.get_running_loop()
    start = loop.time() + max(0.0, t0 - time.time())
    i, max_lag = 0, 0.0
    while i < len(plan):
        now = loop.time()
        due = min(len(plan), int((now - start) * rate) + 1) if now >= start else 0
        if due > i:
            max_lag = max(max_lag, now - (start + i / rate))
        while i < due:
            member, sid = plan[i]
            ref = f"a{i}"
            sent[ref] = time.time_ns()
            clients[member].send_raw(
                f'{{"type":"answer","ref":"{ref}","session":{sid},'
                f'"question_id":{question},"option":{i % 4}}}'.encode()
            )
            i += 1
        await asyncio.sleep(0.002)
    send_seconds = loop.time() - start
    deadline = loop.time() + 30
    while sent and loop.time() < deadline:  # noqa: ASYNC110 - acks arrive in a callback
        await asyncio.sleep(0.05)
    closed = Counter(str(c.close_code) for c in clients if c.close_code is not None)
    out.put(
        (
            "ingested",
            proc,
            {
                "sent": len(plan),
                "acked": len(ack_us),
                "unanswered": len(sent),
                "refused": dict(refused),
                "closed": dict(closed),
                "ack_us": ack_us.tobytes(),
                "send_seconds": send_seconds,
                "max_lag": max_lag,
                "last_ack": last_ack / 1e9,
            },
        )
    )
    await _wait_cmd(ctl)
    for c in clients:
        c.close()


async def _watch(
    host: str, port: int, tokens: list[str], channel: str, ctl: Out, out: Out, proc: int
) -> None:
    clients = await _gather_open([(t, channel) for t in tokens], host, port)
    boards: list[list[tuple[float, int]]] = [[] for _ in clients]
    ranks = [0]

    def hook(seen: list[tuple[float, int]]) -> Any:
        def fast(payload: bytes, now_ns: int) -> bool:
            if b'"type":"board"' in payload:
                seen.append((now_ns / 1e9, int(json.loads(payload)["version"])))
                return True
            if b'"type":"rank"' in payload:
                ranks[0] += 1
                return True
            return False

        return fast

    for c, seen in zip(clients, boards, strict=True):
        c.fast = hook(seen)
    out.put(("ready", proc))
    await _wait_cmd(ctl)  # ("report",)
    closed = Counter(str(c.close_code) for c in clients if c.close_code is not None)
    out.put(("watched", proc, {"boards": boards, "ranks": ranks[0], "closed": dict(closed)}))
    await _wait_cmd(ctl)
    for c in clients:
        c.close()


def ingest_main(*args: Any) -> None:
    raise_nofile()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        uvloop.run(_ingest(*args))
    except Exception as exc:
        args[-2].put(("failed", args[-1], repr(exc)))
        raise


def watch_main(*args: Any) -> None:
    raise_nofile()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        uvloop.run(_watch(*args))
    except Exception as exc:
        args[-2].put(("failed", args[-1], repr(exc)))
        raise


class Procs:
    def __init__(self, stack: ExitStack) -> None:
        self.out: Out = CTX.Queue()
        self.items: list[tuple[SpawnProcess, Out]] = []
        stack.callback(self.terminate)

    def spawn(self, target: Any, *args: Any) -> None:
        ctl: Out = CTX.Queue()
        proc = len(self.items)
        name = f"bench-board-{proc}"
        p = CTX.Process(target=target, args=(*args, ctl, self.out, proc), name=name)
        p.start()
        self.items.append((p, ctl))

    def send(self, cmd: tuple[Any, ...], procs: list[int] | None = None) -> None:
        for i, (_, ctl) in enumerate(self.items):
            if procs is None or i in procs:
                ctl.put(cmd)

    def wait(self, kind: str, count: int, within: float) -> list[tuple[Any, ...]]:
        got: list[tuple[Any, ...]] = []
        deadline = time.monotonic() + within
        while len(got) < count:
            if time.monotonic() > deadline:
                raise BenchError(f"timed out waiting for {count} {kind!r} (got {len(got)})")
            try:
                msg = self.out.get(timeout=0.5)
            except queue.Empty:
                if any(not p.is_alive() for p, _ in self.items):
                    raise BenchError("a load-generator process died") from None
                continue
            if msg[0] == "failed":
                raise BenchError(f"load-generator process {msg[1]} failed: {msg[2]}")
            if msg[0] == kind:
                got.append(msg)
        return got

    @property
    def pids(self) -> list[int]:
        return [p.pid for p, _ in self.items if p.pid is not None]

    def terminate(self) -> None:
        for p, _ in self.items:
            p.join(0.1)
            if p.is_alive():
                p.terminate()
        for p, _ in self.items:
            p.join(5)
            if p.is_alive():
                p.kill()
                p.join(5)
