"""Idle memory per authenticated, subscribed WebSocket connection, on one worker:

    .venv/bin/python -m bench.idle [--connections 10000] [--trace] [--rooms 20]

Starts ONE uvicorn worker (the same WebSocket options as `parley serve`) as a process of
its own, backed by DATABASE_URL / REDIS_URL (else the machine's services, else embedded
ones), warms it up with 100 connections, then opens --connections authenticated,
subscribed, idle connections and reports the worker's RSS before and after (psutil,
median of samples) per connection. Memory is not distorted by a busy machine the way
times are: the figure depends on what the worker allocates, not on how fast.

With --trace the worker runs tracemalloc from the warm-up on (10 frames; it inflates
RSS, so the RSS figure of a traced run is not the one to quote). Either way the worker
counts its live objects by type (and their sys.getsizeof) before and after; the report
lists what grew per connection and, traced, the allocation sites that grew,
in bytes per connection, and the objects per connection by type: what the figure is.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import gc
import json
import os
import secrets
import signal
import sys
import time
import tracemalloc
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from app.cli import migrate
from app.settings import Settings
from bench.fanout import server_env
from bench.loadgen import raise_nofile
from bench.scenarios import make_world, open_fleet, rss_now
from bench.server import DATA_DIR, Server, start_backing

TRACE_FRAMES = 10
WARM = 100


@dataclass
class OneWorker(Server):
    """`uvicorn` with one worker runs in the process itself: this module's `--serve`."""

    trace: bool = False
    dump_dir: Path = DATA_DIR

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "bench.idle", "--serve", str(self.port),
            "--dump-dir", str(self.dump_dir), *(["--trace"] if self.trace else []),
        ]  # fmt: skip

    def ready_workers(self) -> bool:
        return bool(self.processes())

    def dump(self, name: str, within: float = 120.0) -> Path:
        """Ask the worker for a snapshot (SIGUSR1) and wait for it to be written."""
        assert self.proc is not None
        done = self.dump_dir / f"{name}.done"
        done.unlink(missing_ok=True)
        (self.dump_dir / "next-dump").write_text(name)
        os.kill(self.proc.pid, signal.SIGUSR1)
        deadline = time.monotonic() + within
        while not done.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {name} snapshot within {within} s")
            time.sleep(0.2)
        return self.dump_dir / name


def serve(port: int, dump_dir: Path, trace: bool) -> None:
    """The worker: uvicorn with `parley serve`'s WebSocket options; SIGUSR1 dumps."""
    import uvicorn

    def on_dump(signum: int, frame: FrameType | None) -> None:
        name = (dump_dir / "next-dump").read_text().strip()
        gc.collect()
        counts: collections.Counter[str] = collections.Counter()
        sizes: collections.Counter[str] = collections.Counter()
        for o in gc.get_objects():
            kind = type(o).__qualname__
            if kind == "coroutine":
                kind = f"coroutine {o.__qualname__}"
            counts[kind] += 1
            sizes[kind] += sys.getsizeof(o)
        (dump_dir / f"{name}.types.json").write_text(json.dumps([counts, sizes]))
        if tracemalloc.is_tracing():
            tracemalloc.take_snapshot().dump(str(dump_dir / f"{name}.snapshot"))
        elif trace:
            # Tracing starts at the first dump (after the warm-up): startup stays fast,
            # and what is traced is what came after.
            tracemalloc.start(TRACE_FRAMES)
            tracemalloc.take_snapshot().dump(str(dump_dir / f"{name}.snapshot"))
        (dump_dir / f"{name}.done").write_text("ok")

    signal.signal(signal.SIGUSR1, on_dump)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        ws="app.ws_protocol:ParleyWebSocketProtocol",
        ws_max_size=1024 * 1024,
        ws_per_message_deflate=False,
        ws_ping_interval=25,
        ws_ping_timeout=25,
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )


def compare(dump_dir: Path, connections: int, top: int) -> None:
    (before, before_size) = json.loads((dump_dir / "before.types.json").read_text())
    (after, after_size) = json.loads((dump_dir / "after.types.json").read_text())
    grown = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    size = {k: after_size.get(k, 0) - before_size.get(k, 0) for k in after}
    total = sum(size.values()) / connections
    print(f"\nLive gc-tracked objects per connection: {total:,.0f} B (sys.getsizeof, by type):")
    for name, n in sorted(grown.items(), key=lambda kv: -size[kv[0]])[:top]:
        if n / connections >= 0.5:
            print(f"  {n / connections:6.2f} x {size[name] / connections:6.0f} B  {name}")
    snap_before = dump_dir / "before.snapshot"
    if not snap_before.exists():
        return
    old = tracemalloc.Snapshot.load(str(snap_before))
    new = tracemalloc.Snapshot.load(str(dump_dir / "after.snapshot"))
    skip = [tracemalloc.Filter(False, tracemalloc.__file__)]
    old, new = old.filter_traces(skip), new.filter_traces(skip)
    total = sum(s.size_diff for s in new.compare_to(old, "filename"))
    print(f"\ntracemalloc: Python heap grew {total / connections:,.0f} B per connection")
    print("\nBy line (allocation site), bytes per connection:")
    for stat in new.compare_to(old, "lineno")[:top]:
        frame = stat.traceback[0]
        print(
            f"  {stat.size_diff / connections:7.0f} B {stat.count_diff / connections:5.2f} blocks"
            f"  {_short(frame.filename)}:{frame.lineno}"
        )
    print("\nBy traceback (the largest), innermost last:")
    for stat in new.compare_to(old, "traceback")[: top // 2]:
        print(f"  {stat.size_diff / connections:7.0f} B per connection")
        for frame in list(stat.traceback)[-6:]:
            print(f"      {_short(frame.filename)}:{frame.lineno}")


def _short(path: str) -> str:
    for marker in ("site-packages/", "/wt-mem/", "/main/", "/lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.idle", description=__doc__.split("\n")[0])
    p.add_argument("--connections", type=int, default=10000)
    p.add_argument("--rooms", type=int, default=20)
    p.add_argument("--procs", type=int, default=2, help="client processes (2)")
    p.add_argument("--trace", action="store_true", help="tracemalloc in the worker")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    p.add_argument("--dump-dir", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    raise_nofile()
    if args.serve is not None:
        serve(args.serve, args.dump_dir, args.trace)
        return 0
    run_id = time.strftime("%m%d%H%M%S") + secrets.token_hex(2)
    dump_dir = DATA_DIR / f"idle-{run_id}"
    dump_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        backing = start_backing()
        stack.callback(backing.stop)
        migrate(Settings(database_url=backing.database_url, redis_url=backing.redis_url))
        env = server_env(backing, f"bench-idle-{run_id}", secrets.token_urlsafe(48))
        server = OneWorker(env, 1, DATA_DIR / f"server-{run_id}-idle1.log")
        server.trace, server.dump_dir = args.trace, dump_dir
        stack.callback(server.stop)
        server.start(within=300)
        world = make_world(server.url, run_id, 8, args.rooms)
        with ExitStack() as warm_stack:
            warm = open_fleet(warm_stack, server, world.specs(WARM), 1)
            warm["fleet"].stop()
        server.dump("before")
        before = rss_now(server)
        opened = open_fleet(stack, server, world.specs(args.connections), args.procs)
        fleet = opened.pop("fleet")
        time.sleep(5)  # subscriptions settle (presence, acks) before measuring
        after = rss_now(server, samples=5, gap=2.0)
        server.dump("after")
        n = opened["connected"]
        grown = sum(after.values()) - sum(before.values())
        print(
            f"{n} idle connections on one worker (failed: {opened['failed']}): RSS "
            f"{sum(before.values()) / 2**20:.1f} -> {sum(after.values()) / 2**20:.1f} MiB, "
            f"{grown / n / 1000:.1f} KB ({grown / n / 1024:.1f} KiB) per connection"
            + (" (traced: tracemalloc's own overhead included)" if args.trace else "")
        )
        compare(dump_dir, n, args.top)
        fleet.stop()
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
