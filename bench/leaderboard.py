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
import json
import math
import os
import queue
import secrets
import shlex
import signal
import sys
import time
from array import array
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import Any

import httpx
import psutil
import uvloop
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.cli import migrate
from app.settings import Settings
from bench import report
from bench.fanout import _terminate, log, server_env
from bench.loadgen import Out, raise_nofile
from bench.scenarios import CTX, BenchError, percentiles
from bench.server import DATA_DIR, ROOT, Sampler, Server, start_backing
from bench.wsclient import WsClient, WsError, authenticate, connect, subscribe

QUICK = {"members": 200, "watchers": 200, "rate": 200.0, "duration": 5.0}
FULL = {"members": 1000, "watchers": 1000, "rate": 2000.0, "duration": 10.0}
TARGET_RATE, TARGET_P99_MS = 2000.0, 50.0
SECONDS_PER_QUESTION = 300  # the maximum: the question stays open through the run
BEGIN, END = "<!-- leaderboard:start -->", "<!-- leaderboard:end -->"


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


# --- set-up through REST --------------------------------------------------------------------
async def _user(http: httpx.AsyncClient, tag: str, i: int) -> str:
    email, password = f"board-{tag}-{i}@example.com", "bench password 1234"
    body = {"email": email, "password": password, "display_name": f"Board {i}"}
    r = await http.post("/api/v1/auth/register", json=body)
    if r.status_code != 201:
        raise BenchError(f"register: {r.status_code} {r.text[:200]}")
    t = await http.post("/api/v1/auth/token", data={"username": email, "password": password})
    if t.status_code != 200:
        raise BenchError(f"token: {t.status_code} {t.text[:200]}")
    return str(t.json()["access_token"])


async def _setup(url: str, tag: str, members: int, sessions: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        owner = {"Authorization": f"Bearer {await _user(http, tag, -1)}"}
        r = await http.post("/api/v1/rooms", json={"name": f"board {tag}"}, headers=owner)
        if r.status_code != 201:
            raise BenchError(f"create room: {r.status_code} {r.text[:200]}")
        room, invite = int(r.json()["id"]), r.json()["invite_code"]
        question = {
            "subject": "biology",
            "topic": "Cell biology",
            "difficulty": "easy",
            "prompt": "Which organelle makes ATP?",
            "options": ["Mitochondrion", "Ribosome", "Nucleus", "Vacuole"],
            "correct_index": 0,
            "explanation": "Oxidative phosphorylation.",
        }
        body = {"title": "Bench", "subject": "biology", "questions": [question]}
        q = await http.post(f"/api/v1/rooms/{room}/quizzes", json=body, headers=owner)
        if q.status_code != 201:
            raise BenchError(f"create quiz: {q.status_code} {q.text[:200]}")
        quiz_id, question_id = int(q.json()["id"]), int(q.json()["questions"][0]["id"])
        gate = asyncio.Semaphore(16)

        async def member(i: int) -> str:
            async with gate:
                token = await _user(http, tag, i)
                j = await http.post(
                    "/api/v1/rooms/join",
                    json={"invite_code": invite},
                    headers={"Authorization": f"Bearer {token}"},
                )
                if j.status_code != 200:
                    raise BenchError(f"join: {j.status_code} {j.text[:200]}")
                return token

        tokens = await asyncio.gather(*(member(i) for i in range(members)))
        sids = []
        for _ in range(sessions):
            s = await http.post(
                f"/api/v1/quizzes/{quiz_id}/sessions",
                json={"seconds_per_question": SECONDS_PER_QUESTION},
                headers=owner,
            )
            if s.status_code != 201:
                raise BenchError(f"create session: {s.status_code} {s.text[:200]}")
            sids.append(int(s.json()["id"]))
    return {
        "owner": owner,
        "room": room,
        "question": question_id,
        "tokens": list(tokens),
        "sessions": sids,
    }


async def _start_sessions(url: str, owner: dict[str, str], sids: list[int]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        for sid in sids:
            r = await http.post(f"/api/v1/sessions/{sid}/start", headers=owner)
            if r.status_code != 200:
                raise BenchError(f"start session: {r.status_code} {r.text[:200]}")


def _final_version(url: str, owner: dict[str, str], room: int, within: float = 60.0) -> int:
    """The group board's version once it stops moving (two reads 1.5 s apart agree)."""
    with httpx.Client(base_url=url, timeout=30) as http:

        def version() -> int:  # -1 while the server cannot answer (overloaded: 503)
            with contextlib.suppress(httpx.HTTPError):
                r = http.get(f"/api/v1/rooms/{room}/leaderboard", headers=owner)
                if r.status_code == 200:
                    return int(r.json()["version"])
            return -1

        seen, deadline = version(), time.monotonic() + within
        while time.monotonic() < deadline:
            time.sleep(1.5)
            again = version()
            if again == seen >= 0:
                break
            seen = again
        if seen < 0:
            raise BenchError("the group board could not be read back (the server answered 503)")
        return seen


# --- load-generator processes -----------------------------------------------------------------
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


# --- the run ------------------------------------------------------------------------------------
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


def summarize(
    args: argparse.Namespace, t0: float, ingested: list[dict[str, Any]],
    watched: list[dict[str, Any]], final: int, resources: dict[str, Any], backing: str,
) -> dict[str, Any]:  # fmt: skip
    ack = array("q")
    refused: Counter[str] = Counter()
    closed: Counter[str] = Counter()
    for r in ingested:
        ack.frombytes(r["ack_us"])
        refused.update(r["refused"])
        closed.update(r["closed"])
    send_seconds = max(r["send_seconds"] for r in ingested)
    last_ack = max(r["last_ack"] for r in ingested)
    t_end = t0 + send_seconds
    frames, final_lat, missing_final = [], [], 0
    for w in watched:
        closed.update({f"watcher {k}": v for k, v in w["closed"].items()})
        for seen in w["boards"]:
            frames.append(sum(1 for at, _ in seen if t0 <= at <= t_end) / send_seconds)
            done = [at for at, version in seen if version >= final]
            if done:
                final_lat.append(int((done[0] - last_ack) * 1e6))
            else:
                missing_final += 1
    frames.sort()
    acked = len(ack)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "backing": backing,
        "sent": sum(r["sent"] for r in ingested),
        "acked": acked,
        "unanswered": sum(r["unanswered"] for r in ingested),
        "refused": dict(refused),
        "closed": dict(closed),
        "send_seconds": send_seconds,
        "max_lag": max(r["max_lag"] for r in ingested),
        "acked_per_s": acked / max(send_seconds, last_ack - t0),
        "ack": percentiles(list(ack)),
        "final_version": final,
        "final_latency": percentiles(final_lat),
        "missing_final": missing_final,
        "frames_per_watcher": {
            "mean": sum(frames) / max(1, len(frames)),
            "max": frames[-1] if frames else math.nan,
        },
        "ranks": sum(w["ranks"] for w in watched),
        "resources": resources,
    }


def section(args: argparse.Namespace, command: str, m: dict[str, Any], r: dict[str, Any]) -> str:
    met_rate = r["acked_per_s"] >= TARGET_RATE * 0.99 and not r["refused"]
    met_p99 = r["ack"]["p99"] < TARGET_P99_MS
    verdict = "met" if met_rate and met_p99 else "NOT met"
    res = r["resources"]
    cpu = ", ".join(f"{k} {v:.0f}%" for k, v in res.items() if isinstance(v, float))
    return "\n".join(
        [
            BEGIN,
            "## Leaderboards (study groups)",
            "",
            "Written by `make bench-board` (`bench/leaderboard.py`); rerun it to refresh "
            "this section.",
            "",
            f"- Date: {r['date']}; command: `{command}`",
            f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']:.0f} GiB RAM, Python "
            f"{m['python']}; backing: {r['backing']}; `--workers {args.workers}`; the load "
            f"generator ({args.procs} ingest + {args.procs} watcher processes) shares the machine",
            f"- Set-up: one group of {args.members:,} members, a one-question quiz, "
            f"{args.sessions} sessions of it running at once (each question open "
            f"{SECONDS_PER_QUESTION} s); answer j is member j mod {args.members} answering "
            f"session j div {args.members}, so no answer is a duplicate. "
            f"{args.watchers:,} watchers subscribed to `leaderboard:{{room}}` (member tokens; "
            "the board every answer moves)",
            "",
            "| Figure | Value |",
            "|---|---|",
            f"| Offered | {args.rate:,.0f} answers/s for {args.duration:g} s "
            f"({r['sent']:,} answers; send loop lag max {r['max_lag'] * 1000:.0f} ms) |",
            f"| Acknowledged (`answered`) | {r['acked']:,} = {r['acked_per_s']:,.0f} answers/s |",
            f"| Refused by code | {r['refused'] or 'none'}; unanswered after 30 s: "
            f"{r['unanswered']} |",
            f"| Ack latency p50 / p99 / max | {r['ack']['p50']:.1f} / {r['ack']['p99']:.1f} / "
            f"{r['ack']['max']:.0f} ms |",
            f"| Board frames per watcher per second (mean / max) | "
            f"{r['frames_per_watcher']['mean']:.2f} / {r['frames_per_watcher']['max']:.2f} |",
            f"| Final board: last ack -> watcher sees final version, p50 / p99 / max | "
            f"{r['final_latency']['p50']:.0f} / {r['final_latency']['p99']:.0f} / "
            f"{r['final_latency']['max']:.0f} ms ({r['final_latency']['n']:,} watchers; "
            f"{r['missing_final']} never saw it) |",
            f"| `rank` frames to watchers (own rank changes) | {r['ranks']:,} |",
            f"| Connections closed | {r['closed'] or 'none'} |",
            f"| CPU while answering (% of one core) | {cpu or '?'} |",
            f"| Server CPU per stored answer (from the first answer to the final board: "
            f"ingest, boards, snapshots, fan-out) | {r['server_cpu_seconds']:.1f} s / "
            f"{r['stored']:,} stored = "
            f"{r['server_cpu_seconds'] * 1000 / max(1, r['stored']):.2f} ms |",
            "",
            f"Target ≥ {TARGET_RATE:,.0f} answers/s at p99 < {TARGET_P99_MS:g} ms: **{verdict}** "
            f"(rate {'met' if met_rate else 'not met'}, p99 {'met' if met_p99 else 'not met'}). "
            "Board frames are coalesced to one per `PARLEY_BOARD_WINDOW_SECONDS` (0.25 s) "
            "per channel plus the trailing one, so at most about 4 per watcher per second.",
            "",
            "The final-state latency is a proxy for update latency: it is measured once, from "
            "the last acknowledged answer to the first board frame whose version is the one "
            "REST reports once the board stopped moving; it includes up to one coalescing "
            "window by design.",
            END,
        ]
    )


def write(path: Path, text: str) -> None:
    doc = path.read_text() if path.exists() else "# Benchmarks\n"
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        doc = head + text + rest.split(END, 1)[1]
    elif report.ANALYSIS_CLOSE in doc:  # inside the block `make bench` keeps
        doc = doc.replace(report.ANALYSIS_CLOSE, text + "\n\n" + report.ANALYSIS_CLOSE, 1)
    else:
        doc = doc.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(doc)


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
    write(args.out, section(args, command, report.machine(nofile), result))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
