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
import contextlib
import json
import os
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

from app.cli import migrate
from app.settings import Settings
from bench import machine_info
from bench.fanout import _terminate, log, server_env, warnings_in
from bench.loadgen import raise_nofile
from bench.scenarios import BenchError, wait_quiet
from bench.server import DATA_DIR, ROOT, Server, free_port, start_backing
from bench.stream_report import analyse, write
from bench.stream_runs import make_conversations, run_direct, run_parley

QUIET_LIMIT = 50.0  # % of one core used by everything on the machine before measuring


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
        "machine": machine_info.machine(nofile),
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
