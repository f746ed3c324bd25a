"""The system under test: backing services, the uvicorn server processes, and a sampler
of CPU and memory for every process group that matters on the machine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil

from app import embedded

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "var" / "bench"
MACHINE_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
MACHINE_REDIS_URL = "redis://127.0.0.1:6379/0"
BENCH_DATABASE = "parley_bench"
WS_PROTOCOL = "app.ws_protocol:ParleyWebSocketProtocol"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}


@dataclass
class Backing:
    database_url: str
    redis_url: str
    source: str
    handle: embedded.Embedded | None = None

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()


def _reachable(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _local_only(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOCAL_HOSTS and not host.startswith("127."):
        raise SystemExit(f"refusing a non-local service {host!r}: benchmarks stay on this machine")


async def _create_database(admin_url: str, name: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            )
            if not found:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()


def start_backing() -> Backing:
    """DATABASE_URL / REDIS_URL if set; else the machine's services; else embedded ones."""
    db, redis = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    sources = []
    if db:
        sources.append("DATABASE_URL")
    elif _reachable(5432):
        parts = urlsplit(MACHINE_DATABASE_URL)
        asyncio.run(_create_database(MACHINE_DATABASE_URL, BENCH_DATABASE))
        db = urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))
        sources.append(f"machine PostgreSQL (database {BENCH_DATABASE})")
    if redis:
        sources.append("REDIS_URL")
    elif _reachable(6379):
        redis = MACHINE_REDIS_URL
        sources.append("machine Redis")
    handle = None
    if not db or not redis:
        handle = embedded.start(DATA_DIR, database=not db, redis=not redis)
        sources += [
            f"embedded {k}" for k, miss in (("PostgreSQL", not db), ("Redis", not redis)) if miss
        ]
        db = db or handle.database_url
        redis = redis or handle.redis_url
    assert db and redis
    _local_only(db)
    _local_only(redis)
    return Backing(db, redis, ", ".join(sources), handle)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """`uvicorn app.main:create_app --factory --workers N` as a process group of its own."""

    env: dict[str, str]
    workers: int
    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    # uvicorn's WebSocket protocol: Parley's (frames written once, 0017), or None for
    # uvicorn's default, the plain ASGI send path (what `--asgi-too` measures beside it).
    ws: str | None = WS_PROTOCOL

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        # The same knobs `parley serve` passes to uvicorn.run.
        return [
            sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers),
            "--no-access-log", "--log-level", "warning",
            *(["--ws", self.ws] if self.ws else []),
            "--ws-max-size", str(1024 * 1024), "--ws-per-message-deflate", "false",
            "--ws-ping-interval", "25", "--ws-ping-timeout", "25",
            "--timeout-graceful-shutdown", "5",
        ]  # fmt: skip

    def start(self, within: float = 60.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + within
        with httpx.Client(timeout=2) as http:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the server exited; see {self.log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{self.url}/readyz").status_code == 200 and self.ready_workers():
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the server was not ready within {within} s")
                time.sleep(0.2)

    def ready_workers(self) -> bool:
        return len(self.processes()) >= self.workers + 1

    def processes(self) -> list[psutil.Process]:
        if self.proc is None or self.proc.poll() is not None:
            return []
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def rss(self) -> dict[int, int]:
        out = {}
        for p in self.processes():
            with contextlib.suppress(psutil.Error):
                out[p.pid] = p.memory_info().rss
        return out

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


@dataclass
class Sample:
    t: float
    cpu: dict[str, float]  # % of one core, per group, since the previous sample
    server_rss: int
    machine: float  # % of one core, all processes (200 = both cores of two fully busy)


class Sampler(threading.Thread):
    """Samples once a second: CPU per group (server tree, load generator, PostgreSQL,
    Redis, whole machine) and the server's total RSS."""

    def __init__(self, server: Server, loadgen_pids: list[int]) -> None:
        super().__init__(name="sampler", daemon=True)
        self.server = server
        self.loadgen_pids = loadgen_pids
        self.samples: list[Sample] = []
        self._stop_event = threading.Event()
        self._procs: dict[int, psutil.Process] = {}
        self._last: dict[int, float] = {}

    def _group_of(self, p: psutil.Process, server_pids: set[int]) -> str | None:
        if p.pid in server_pids:
            return "server"
        if p.pid in self.loadgen_pids:
            return "loadgen"
        with contextlib.suppress(psutil.Error):
            name = p.name()
            if name.startswith("postgres"):
                return "postgres"
            if name.startswith("redis"):
                return "redis"
        return None

    def _tick(self, dt: float) -> Sample:
        server_pids = {p.pid for p in self.server.processes()}
        cpu: dict[str, float] = {"server": 0.0, "loadgen": 0.0, "postgres": 0.0, "redis": 0.0}
        seen: set[int] = set()
        busiest = 0.0
        for p in psutil.process_iter():
            group = self._group_of(p, server_pids)
            if group is None:
                continue
            try:
                t = p.cpu_times()
                total = t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                continue
            seen.add(p.pid)
            before = self._last.get(p.pid)
            self._last[p.pid] = total
            if before is not None and dt > 0:
                used = max(0.0, total - before) / dt * 100
                cpu[group] += used
                if group == "server":
                    busiest = max(busiest, used)
        for pid in list(self._last):
            if pid not in seen:
                del self._last[pid]
        rss = sum(self.server.rss().values())
        # Whole machine, in % of one core like the groups (200 = two cores fully busy).
        machine = psutil.cpu_percent(None) * (psutil.cpu_count() or 1)
        cpu["other"] = max(0.0, machine - sum(cpu.values()))
        cpu["busiest_worker"] = busiest
        return Sample(time.time(), cpu, rss, machine)

    def run(self) -> None:
        psutil.cpu_percent(None)
        last = time.monotonic()
        self._tick(0)
        while not self._stop_event.wait(1.0):
            now = time.monotonic()
            self.samples.append(self._tick(now - last))
            last = now

    def stop(self) -> None:
        self._stop_event.set()
        self.join(5)

    def window(self, t0: float, t1: float) -> dict[str, float]:
        """Averages (and the server's peak) over samples taken within [t0, t1]."""
        inside = [s for s in self.samples if t0 <= s.t <= t1] or self.samples[-1:]
        if not inside:
            return {}
        out = {f"cpu_{g}": sum(s.cpu[g] for s in inside) / len(inside) for g in inside[0].cpu}
        out["cpu_server_max"] = max(s.cpu["server"] for s in inside)
        out["cpu_busiest_worker"] = sum(s.cpu["busiest_worker"] for s in inside) / len(inside)
        out["machine"] = sum(s.machine for s in inside) / len(inside)
        out["server_rss_max"] = max(s.server_rss for s in inside)
        return out
