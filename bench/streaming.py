"""`make bench-stream`: Symptom2Specialist streaming through Parley vs reading the upstream.

    .venv/bin/python -m bench.streaming [--streams 500] [--tokens-per-second 20]
        [--tokens 100] [--quick] [--out docs/benchmarks.md]

Starts a fake OpenAI-compatible upstream (bench/upstream.py, its own process) that streams
`--tokens` fixed-width tokens per answer at `--tokens-per-second`, recording the wall-clock
time it emits each one, and `uvicorn app.main:create_app --factory --workers 2` pointed at
it (OPENAI_BASE_URL, a quota no run reaches, the bot's coalescing window as configured).

1. direct: `--streams` concurrent completions read straight from the upstream over raw
   HTTP/1.1 by client processes, starts spread over `--ramp` seconds.
2. Parley: as many bot conversations (one room and one WebSocket each, spread over a few
   users), subscribed; each first gets one unmeasured warm-up answer, all at once (unless
   `--no-warmup`: pooled connections opened, statements prepared), then sends the measured
   symptom message; the client records when each `delta` arrives and which tokens it
   holds. Server CPU seconds over the measured phase are divided per delta, per token
   delivered and per answer.

Per token: delay = arrival at the client - emission at the upstream (same machine clock).
TTFT = first token's arrival - request sent (direct) / `send` written (Parley). Inter-token
gap (direct) and inter-delta gap (Parley, coalesced to about the window). "Added" is
Parley minus direct at each percentile. A stream is sustained when every token arrived
once, in order, and (Parley) it ended `complete` with the durable message.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import multiprocessing as mp
import os
import queue
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from app.cli import migrate
from app.settings import Settings
from bench import report
from bench.fanout import _terminate, log, server_env, warnings_in
from bench.loadgen import raise_nofile
from bench.scenarios import BenchError, wait_quiet
from bench.server import DATA_DIR, ROOT, Sampler, Server, free_port, start_backing
from bench.wsclient import Frame, WsClient, authenticate, connect, subscribe

CTX = mp.get_context("spawn")
TOKEN = re.compile(rb"w(\d{4})")
TOKEN_S = re.compile(r"w(\d{4})")
SYMPTOM = "case {n}: an itchy red rash on my forearm for two weeks, no fever"
USERS = 10
TARGET_MS = 20.0
QUIET_LIMIT = 50.0  # % of one core used by everything on the machine before measuring
SECTION = "## Streaming (Symptom2Specialist)"
WARMUP_OFFSET = 500000

Job = tuple[int, float]  # (case, start offset in seconds)
PJob = tuple[int, float, str, int]  # (case, start offset, token, room)


# --- client processes --------------------------------------------------------------------------
def _result(
    case: int, sent: float, arrivals: list[tuple[int, float]], **extra: Any
) -> dict[str, Any]:
    return {"case": case, "sent": sent, "arrivals": arrivals, **extra}


async def _direct_one(port: int, case: int, at: float, within: float) -> dict[str, Any]:
    body = json.dumps(
        {
            "model": "fake",
            "stream": True,
            "messages": [{"role": "user", "content": SYMPTOM.format(n=case)}],
        }
    ).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    await asyncio.sleep(max(0.0, at - time.time()))
    arrivals: list[tuple[int, float]] = []
    sent = time.time()
    try:
        async with asyncio.timeout(within):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            sent = time.time()
            writer.write(head + body)
            buf = b""
            while True:
                data = await reader.read(65536)
                now = time.time()
                if not data:
                    break
                buf += data
                end = 0
                for m in TOKEN.finditer(buf):
                    arrivals.append((int(m.group(1)), now))
                    end = m.end()
                buf = buf[max(end, len(buf) - 8) :]
            writer.close()
    except (OSError, TimeoutError) as exc:
        return _result(case, sent, arrivals, error=repr(exc))
    return _result(case, sent, arrivals, status="complete")


async def _direct(port: int, jobs: list[Job], start: float, within: float) -> list[dict[str, Any]]:
    return list(
        await asyncio.gather(*(_direct_one(port, c, start + off, within) for c, off in jobs))
    )


def direct_main(port: int, jobs: list[Job], start: float, timeout: float, out: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_nofile()
    import uvloop

    out.put(("done", uvloop.run(_direct(port, jobs, start, timeout))))


class Conversation:
    def __init__(self, case: int) -> None:
        self.case = case
        # Streams of answers before the measured one (the warm-up): a warm-up answer that
        # outlived its wait keeps streaming, and its tokens must not count as the measured
        # answer's (they carry token numbers, not the case).
        self.stale: set[str] = set()
        self.streams: set[str] = set()
        self.stale_replies: set[object] = set()  # the seqs those answers reply to
        self.replies: set[object] = set()
        self.reset()

    def reset(self) -> None:
        self.stale |= self.streams
        self.streams = set()
        self.stale_replies |= self.replies
        self.replies = set()
        self.sent = 0.0
        self.arrivals: list[tuple[int, float]] = []
        self.deltas: list[float] = []
        self.status: str | None = None
        self.durable = False
        self.done = asyncio.Event()
        self.error: str | None = None

    def on_frame(self, frame: Frame) -> None:
        now = time.time()
        kind = frame.get("type")
        stream = frame.get("stream")
        if isinstance(stream, str):
            if stream in self.stale:
                return
            self.streams.add(stream)
            if kind == "stream_start" and frame.get("reply_to") is not None:
                self.replies.add(frame.get("reply_to"))
        if kind == "message" and frame.get("reply_to") in self.stale_replies:
            return
        if kind == "delta":
            self.deltas.append(now)
            for m in TOKEN_S.finditer(str(frame.get("text", ""))):
                self.arrivals.append((int(m.group(1)), now))
        elif kind == "stream_end":
            self.status = str(frame.get("status"))
            if self.status != "complete":
                self.error = json.dumps(frame.get("error"))
                self.done.set()
        elif kind == "message" and (frame.get("author") or {}).get("bot"):
            self.durable = True
            self.done.set()
        elif kind == "error":
            self.error = f"{frame.get('code')}: {frame.get('message')}"
            self.done.set()


async def _warm(job: PJob, client: WsClient, conv: Conversation, within: float) -> None:
    """One unmeasured answer per conversation, all at once, so the measured ones meet warm
    workers (pooled connections opened, statements prepared, lazy imports done) like a
    server that has been up for a while. Its case number is offset: its tokens are not
    scored."""
    client.send(
        {
            "type": "send",
            "ref": client.next_ref(),
            "channel": f"room:{job[3]}",
            "client_id": secrets.token_hex(4),
            "body": SYMPTOM.format(n=job[0] + WARMUP_OFFSET),
        }
    )
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(conv.done.wait(), within)
    conv.reset()


async def _parley(
    port: int, jobs: list[PJob], ctl: Any, out: Any, within: float, warmup: bool
) -> list[dict[str, Any]]:
    convs: list[tuple[PJob, WsClient, Conversation]] = []
    sem = asyncio.Semaphore(32)

    async def open_one(job: PJob) -> None:
        async with sem:
            client = await connect("127.0.0.1", port)
            await authenticate(client, job[2])
            await subscribe(client, f"room:{job[3]}")
            conv = Conversation(job[0])
            client.on_frame = conv.on_frame
            convs.append((job, client, conv))

    await asyncio.gather(*(open_one(j) for j in jobs))
    if warmup:
        await asyncio.gather(*(_warm(*c, within) for c in convs))
    out.put(("ready", len(convs)))
    loop = asyncio.get_running_loop()
    start = float(await loop.run_in_executor(None, ctl.get))

    async def run(job: PJob, client: WsClient, conv: Conversation) -> dict[str, Any]:
        await asyncio.sleep(max(0.0, start + job[1] - time.time()))
        conv.sent = time.time()
        client.send(
            {
                "type": "send",
                "ref": client.next_ref(),
                "channel": f"room:{job[3]}",
                "client_id": secrets.token_hex(4),
                "body": SYMPTOM.format(n=job[0]),
            }
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(conv.done.wait(), within)
        client.close()
        return _result(
            conv.case,
            conv.sent,
            conv.arrivals,
            deltas=conv.deltas,
            status=conv.status,
            durable=conv.durable,
            error=conv.error or (None if conv.done.is_set() else "timeout"),
        )

    return list(await asyncio.gather(*(run(*c) for c in convs)))


def parley_main(
    port: int, jobs: list[PJob], ctl: Any, out: Any, timeout: float, warmup: bool
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_nofile()
    import uvloop

    try:
        out.put(("done", uvloop.run(_parley(port, jobs, ctl, out, timeout, warmup))))
    except Exception as exc:
        out.put(("failed", repr(exc)))
        raise


# --- orchestration -----------------------------------------------------------------------------
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
    password = "bench password 1234"
    out: list[tuple[str, int]] = []
    with httpx.Client(base_url=url, timeout=60) as http:
        tokens = []
        for i in range(min(USERS, streams)):
            email = f"bench-stream-{tag}-{i}@example.com"
            r = http.post(
                "/api/v1/auth/register",
                json={"email": email, "password": password, "display_name": f"Streamer {i}"},
            )
            if r.status_code != 201:
                raise BenchError(f"register: {r.status_code} {r.text}")
            t = http.post("/api/v1/auth/token", data={"username": email, "password": password})
            if t.status_code != 200:
                raise BenchError(f"token: {t.status_code} {t.text}")
            tokens.append(t.json()["access_token"])
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


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def analyse(
    results: list[dict[str, Any]], emits: dict[str, list[float]], tokens: int, parley: bool
) -> dict[str, Any]:
    ttft: list[float] = []
    delay: list[float] = []
    gaps: list[float] = []
    dgaps: list[float] = []
    sustained = 0
    errors: dict[str, int] = {}
    for r in results:
        idx = [i for i, _ in r["arrivals"]]
        ok = idx == list(range(tokens)) and r.get("status") == "complete"
        if parley:
            ok = ok and bool(r.get("durable"))
        if ok:
            sustained += 1
        else:
            key = str(r.get("error") or f"tokens {len(idx)}/{tokens}, status {r.get('status')}")[
                :80
            ]
            errors[key] = errors.get(key, 0) + 1
        times = emits.get(str(r["case"]), [])
        if r["arrivals"]:
            ttft.append((r["arrivals"][0][1] - r["sent"]) * 1000)
        arr = [at for _, at in r["arrivals"]]
        gaps += [(b - a) * 1000 for a, b in itertools.pairwise(arr)]
        for k, at in r["arrivals"]:  # tokens of one delta share its arrival
            if k < len(times):
                delay.append((at - times[k]) * 1000)
        d = r.get("deltas") or []
        dgaps += [(b - a) * 1000 for a, b in itertools.pairwise(d)]
    out: dict[str, Any] = {"streams": len(results), "sustained": sustained, "errors": errors}
    out["deltas"] = sum(len(r.get("deltas") or []) for r in results)
    for name, vals in (("ttft", ttft), ("delay", delay), ("gap", gaps), ("delta_gap", dgaps)):
        if vals:
            out[name] = {"p50": pct(vals, 0.5), "p99": pct(vals, 0.99), "max": max(vals)}
    return out


# --- report ------------------------------------------------------------------------------------
def _f(v: Any) -> str:
    return "n/a" if v is None else f"{v:.1f}"


def section(rec: dict[str, Any]) -> list[str]:
    m = rec["machine"]
    lines = [SECTION, ""]
    lines.append(
        "Generated by `make bench-stream` (bench/streaming.py, fake upstream "
        "bench/upstream.py); the latest run of each stream count and window is kept. Method: "
        "the upstream records the wall time it emits each fixed-width token; the client "
        "records the wall time each token arrives (in the raw HTTP body when reading the "
        "upstream directly, in a `delta` through Parley). **Per-token delay** = arrival - "
        "emission; **TTFT** = first token's arrival - request written (direct) or `send` "
        "written (Parley: includes storing the message, screening and starting the answer; "
        "each conversation's second answer, after an unmeasured warm-up one, unless the "
        "command says `--no-warmup`). "
        "Direct and Parley runs are separate phases at the same load, same spread of starts. "
        "**Added** = Parley - direct at each percentile. Deltas are coalesced (one per window"
        " per answer), so tokens share a delta and the inter-delta gap is about the window; "
        "the target is read on the added p99 per-token delay."
    )
    lines.append("")
    lines.append(
        "| date | streams x tok/s x tokens | window ms | sustained direct / Parley | TTFT p50/p99"
        " direct | TTFT p50/p99 Parley | delay p50/p99 direct | delay p50/p99 Parley |"
        " added delay p50/p99 | inter-token gap p50/p99 direct | inter-delta gap p50/p99"
        " Parley | CPU % server avg/max, other | server CPU us/delta, us/token, ms/answer |"
        " target (<20 ms added p99) |"
    )
    lines.append("|" + "---|" * 14)
    for run in rec["runs"]:
        d, p = run["direct"], run["parley"]

        def pp(x: dict[str, Any], k: str) -> str:
            v = x.get(k)
            return f"{_f(v['p50'])} / {_f(v['p99'])}" if v else "n/a"

        added50 = p["delay"]["p50"] - d["delay"]["p50"] if "delay" in p and "delay" in d else None
        added99 = p["delay"]["p99"] - d["delay"]["p99"] if "delay" in p and "delay" in d else None
        met = added99 is not None and added99 < TARGET_MS and p["sustained"] == p["streams"]
        res = run["resources"]
        lines.append(
            f"| {run['date']} | {run['streams']} x {run['tps']:g} x {run['tokens']} |"
            f" {run['window_ms']} | {d['sustained']}/{d['streams']} /"
            f" {p['sustained']}/{p['streams']} |"
            f" {pp(d, 'ttft')} | {pp(p, 'ttft')} | {pp(d, 'delay')} | {pp(p, 'delay')} |"
            f" {_f(added50)} / {_f(added99)} | {pp(d, 'gap')} | {pp(p, 'delta_gap')} |"
            f" {res.get('cpu_server', 0):.0f} / {res.get('cpu_server_max', 0):.0f},"
            f" {res.get('cpu_other', 0):.0f} |"
            f" {_f(p.get('cpu_us_per_delta'))}, {_f(p.get('cpu_us_per_token'))},"
            f" {_f(p.get('cpu_ms_per_answer'))} |"
            f" {'met' if met else 'NOT met'} |"
        )
    lines.append("")
    lines.append(
        f"Last command: `{rec['command']}`. Machine: {m.get('cpu', '?')}, {m.get('cores', '?')}"
        f" cores, Python {m.get('python', '?')}; backing: {rec.get('backing', '?')}. Server:"
        f" 2 uvicorn workers; {rec['procs']} client processes; starts spread over"
        f" {rec['ramp']:g} s. CPU is % of one core (the machine's cores are shared by the"
        " upstream, the clients, PostgreSQL and Redis)."
    )
    for run in rec["runs"]:
        errs = {**run["direct"]["errors"], **run["parley"]["errors"]}
        if errs or run.get("server_log"):
            lines.append("")
            lines.append(
                f"{run['streams']} streams: failures {json.dumps(errs)}; server warnings"
                f" {json.dumps(run.get('server_log', {}))}"
            )
    lines.append("")
    return lines


RUNS_OPEN, RUNS_CLOSE = "<!-- streaming-runs", "streaming-runs -->"


def write(path: Path, rec: dict[str, Any]) -> None:
    """Replace (or append) the streaming section; the latest run per stream count is kept
    in an HTML comment inside it."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    previous: dict[str, Any] = {}
    if RUNS_OPEN in text and RUNS_CLOSE in text:
        with contextlib.suppress(ValueError):
            previous = json.loads(text.split(RUNS_OPEN, 1)[1].split(RUNS_CLOSE, 1)[0])
    for run in rec["runs"]:
        previous[f"{run['streams']}@{run['window_ms']}"] = run
    runs = sorted(previous.values(), key=lambda r: (r["window_ms"], r["streams"]))
    lines = section({**rec, "runs": runs})
    body = "\n".join([*lines, RUNS_OPEN, json.dumps(previous), RUNS_CLOSE, ""])
    start = text.find(SECTION)
    if start >= 0:
        nxt = text.find("\n## ", start + len(SECTION))
        text = text[:start] + body + ("" if nxt < 0 else text[nxt:])
    else:
        text = text.rstrip("\n") + "\n\n" + body
    path.write_text(text.rstrip("\n") + "\n")


# --- main --------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench.streaming", description=__doc__.split("\n")[0])
    p.add_argument("--streams", type=str, help="concurrent streams; a comma list runs each (500)")
    p.add_argument("--tokens-per-second", type=float, default=20.0)
    p.add_argument("--tokens", type=int, help="tokens per answer (100)")
    p.add_argument("--quick", action="store_true", help="50 streams of 40 tokens")
    p.add_argument("--procs", type=int, default=2, help="client processes (2)")
    p.add_argument("--ramp", type=float, default=2.0, help="seconds over which streams start")
    p.add_argument(
        "--window-ms", type=int, help="PARLEY_BOT_WINDOW_MS for the server (its default: 40)"
    )
    p.add_argument("--timeout", type=float, default=60.0, help="seconds a stream may take")
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=180.0,
        help="before each phase wait up to this many seconds for other work on the machine "
        "to stop (0: do not wait)",
    )
    p.add_argument(
        "--no-warmup",
        dest="warmup",
        action="store_false",
        help="measure each conversation's first answer (a cold server) instead of its second",
    )
    p.add_argument(
        "--profile", type=Path, help="py-spy each worker while answers stream, into this dir"
    )
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = p.parse_args(argv)
    args.streams = args.streams or ("50" if args.quick else "500")
    args.tokens = args.tokens or (40 if args.quick else 100)
    args.counts = [int(s) for s in str(args.streams).split(",") if s.strip()]
    if not args.counts or min(args.counts) < 1 or max(args.counts) > 5000:
        p.error("--streams must be in [1, 5000]")
    if not 0 < args.tokens_per_second <= 1000 or not 1 <= args.tokens <= 10000:
        p.error("--tokens-per-second in (0, 1000], --tokens in [1, 10000]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    nofile = raise_nofile()
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    run_id = datetime.now(UTC).strftime("%m%d%H%M%S") + secrets.token_hex(2)
    command = " ".join(
        ["python -m bench.streaming", *map(shlex.quote, sys.argv[1:] if argv is None else argv)]
    )
    rec: dict[str, Any] = {
        "command": command,
        "machine": report.machine(nofile),
        "procs": args.procs,
        "ramp": args.ramp,
        "runs": [],
    }
    interval = 1.0 / args.tokens_per_second
    try:
        with ExitStack() as stack:
            backing = start_backing()
            stack.callback(backing.stop)
            rec["backing"] = backing.source
            log(f"backing: {backing.source}")
            migrate(Settings(database_url=backing.database_url, redis_url=backing.redis_url))
            up_port = free_port()
            DATA_DIR.mkdir(parents=True, exist_ok=True)
            up_log = (DATA_DIR / f"upstream-{run_id}.log").open("ab")
            stack.callback(up_log.close)
            upstream = subprocess.Popen(
                [sys.executable, "-m", "bench.upstream", "--port", str(up_port),
                 "--interval", str(interval), "--tokens", str(args.tokens)],
                cwd=ROOT, stdout=up_log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

            def stop_upstream() -> None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(upstream.pid, signal.SIGTERM)
                try:
                    upstream.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(upstream.pid, signal.SIGKILL)
                    upstream.wait(5)

            stack.callback(stop_upstream)
            up_url = f"http://127.0.0.1:{up_port}"
            with httpx.Client(timeout=2) as http:
                for _ in range(100):
                    with contextlib.suppress(httpx.HTTPError):
                        if http.get(f"{up_url}/emits").status_code == 200:
                            break
                    time.sleep(0.1)
            env = server_env(backing, f"bench-{run_id}", secrets.token_urlsafe(48))
            env.update(
                {
                    "OPENAI_BASE_URL": f"{up_url}/v1",
                    "OPENAI_API_KEY": "bench",
                    "PARLEY_LLM_MODEL": "fake",
                    "PARLEY_BOT_QUOTA": "1000000",
                }
            )
            if args.window_ms:
                env["PARLEY_BOT_WINDOW_MS"] = str(args.window_ms)
            default_window = Settings.model_fields["bot_window_ms"].default
            window = int(env.get("PARLEY_BOT_WINDOW_MS") or default_window)
            for count in args.counts:
                args.streams = count
                rec["runs"].append(one_run(stack, args, env, up_url, up_port, run_id, window))
    except KeyboardInterrupt:
        log("interrupted; everything started was stopped")
        return 130
    except BenchError as exc:
        log(f"failed: {exc}; everything started was stopped")
        return 1
    write(args.out, rec)
    log(f"wrote {args.out}")
    return 0


def quiet(args: argparse.Namespace) -> None:
    if args.quiet_wait > 0:
        waited, busy = wait_quiet(QUIET_LIMIT, args.quiet_wait)
        if waited > 3:
            log(f"  waited {waited:.0f} s for the machine to quieten (now {busy:.0f}% of a core)")


def one_run(
    stack: ExitStack,
    args: argparse.Namespace,
    env: dict[str, str],
    up_url: str,
    up_port: int,
    run_id: str,
    window: int,
) -> dict[str, Any]:
    n = args.streams
    with httpx.Client(timeout=30) as http:
        http.post(f"{up_url}/reset")
    quiet(args)
    log(f"{n} streams x {args.tokens} tokens at {args.tokens_per_second:g}/s: direct")
    direct, _ = run_direct(args, up_port)
    server = Server(
        env | {"PARLEY_REDIS_PREFIX": f"{env['PARLEY_REDIS_PREFIX']}-{n}"},
        2,
        DATA_DIR / f"server-{run_id}-stream-{n}.log",
    )
    stack.callback(server.stop)
    server.start()
    convs = make_conversations(server.url, f"{run_id}-{n}", n)
    quiet(args)
    log(f"  through Parley ({len(convs)} conversations)")
    parley, resources, ready = run_parley(args, server, convs)
    server.stop()
    with httpx.Client(timeout=60) as http:
        emits = http.get(f"{up_url}/emits").json()
    d = analyse(direct, emits, args.tokens, parley=False)
    p = analyse(parley, emits, args.tokens, parley=True)
    p["connected"] = ready
    cpu = resources["cpu_seconds_server"]
    if p["deltas"]:
        p["cpu_us_per_delta"] = cpu / p["deltas"] * 1e6
    tokens = sum(len(r["arrivals"]) for r in parley)
    if tokens:
        p["cpu_us_per_token"] = cpu / tokens * 1e6
    ended = sum(1 for r in parley if r.get("status"))
    if ended:
        p["cpu_ms_per_answer"] = cpu / ended * 1e3
    run = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "streams": n,
        "tps": args.tokens_per_second,
        "tokens": args.tokens,
        "window_ms": window,
        "direct": d,
        "parley": p,
        "resources": resources,
        "server_log": warnings_in(server.log_path),
    }
    log(f"  direct {json.dumps({k: v for k, v in d.items() if k != 'errors'})}")
    log(f"  parley {json.dumps({k: v for k, v in p.items() if k != 'errors'})}")
    log(f"  errors {d['errors']} {p['errors']}; cpu {resources}")
    return run


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
