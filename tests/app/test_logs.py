"""app/logs.py: no token, ticket or other credential ever reaches a log line.

The filter is checked directly on records of every shape, and end to end on a real
`parley serve` process whose log is captured while clients put credentials where uvicorn
logs them (the WebSocket handshake line, the access log).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from app import logs
from app.logs import REDACTED, KeyValueFormatter, RedactSecrets
from app.security import token_codec
from app.settings import Settings
from domain import logcontext
from domain.security import TokenKind
from tests.servers import ROOT, free_port, settings_env

# Well-formed, signed with a throwaway key: only its shape matters to the filter.
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiI3IiwianRpIjoiYWJjIn0"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
TICKET = "tkt_Q2xlYXJseUFTZWNyZXRUaWNrZXQ"


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through the redaction filter into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(KeyValueFormatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("parley.test.redaction")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, buffer
    logger.handlers.clear()


def test_a_jwt_in_the_message_or_its_arguments_is_redacted(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    log, out = lines
    log.info("token %s seen", JWT)
    log.info(f"inline {JWT}")
    log.info("in a container %s", {"token": JWT})
    assert JWT not in out.getvalue()
    assert out.getvalue().count(REDACTED) == 3


def test_a_websocket_handshake_line_loses_its_query_credentials(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    log, out = lines
    log.info(
        '%s - "WebSocket %s" 403',
        ("127.0.0.1", 5555),
        f"/ws?token={JWT}&ticket={TICKET}&room=7",
    )
    line = out.getvalue()
    assert JWT not in line and TICKET not in line
    assert f"/ws?token={REDACTED}&ticket={REDACTED}&room=7" in line
    assert "('127.0.0.1', 5555)" in line and "403" in line


@pytest.mark.parametrize(
    "name", ["access_token", "refresh_token", "client_secret", "password", "api_key"]
)
def test_any_credential_named_query_parameter_is_redacted(
    lines: tuple[logging.Logger, io.StringIO], name: str
) -> None:
    log, out = lines
    log.info('"GET /x?%s=s3cr3t-value&page=2 HTTP/1.1" 200', name)
    assert "s3cr3t-value" not in out.getvalue()
    assert f"{name}={REDACTED}&page=2" in out.getvalue()


def test_an_authorization_header_value_is_redacted(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    log, out = lines
    log.warning("headers: %r", {"authorization": "Bearer opaque-credential-123"})
    log.warning("Authorization: Basic dXNlcjpwYXNzd29yZA==")
    assert "opaque-credential-123" not in out.getvalue()
    assert "dXNlcjpwYXNzd29yZA==" not in out.getvalue()
    assert f"Bearer {REDACTED}" in out.getvalue() and f"Basic {REDACTED}" in out.getvalue()


def test_extras_and_tracebacks_are_redacted(lines: tuple[logging.Logger, io.StringIO]) -> None:
    log, out = lines
    try:
        raise ValueError(f"bad token {JWT}")
    except ValueError:
        log.exception("failed", extra={"url": f"/ws?token={JWT}", "claims": {"raw": JWT}})
    assert JWT not in out.getvalue()
    assert "ValueError: bad token [REDACTED]" in out.getvalue()
    assert f"url='/ws?token={REDACTED}'" in out.getvalue()


def test_a_broken_format_string_still_logs_without_leaking(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    log, out = lines
    log.info("%d items for %s", "not-a-number", JWT)
    assert JWT not in out.getvalue() and REDACTED in out.getvalue()


def test_configure_puts_the_filter_on_the_root_handler_for_every_logger() -> None:
    logs.configure("INFO")
    (handler,) = logging.getLogger().handlers
    assert any(isinstance(f, RedactSecrets) for f in handler.filters)
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        for name in ("uvicorn.error", "websockets.server", "parley.anything"):
            logging.getLogger(name).warning("%s - %s", name, f"/ws?token={JWT}")
    finally:
        handler.setStream(previous)
    assert JWT not in buffer.getvalue()
    assert buffer.getvalue().count(f"token={REDACTED}") == 3


def test_json_lines_carry_the_request_and_connection_ids_and_stay_redacted() -> None:
    logs.configure("INFO", "json")
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    request = logcontext.request_id.set("req-1")
    connection = logcontext.connection_id.set("0123456789abcdef")
    try:
        logging.getLogger("parley.ws").info("frame refused: %s", "invalid", extra={"code": 4008})
        logging.getLogger("uvicorn.error").warning("GET /x?ticket=%s", JWT)
    finally:
        logcontext.connection_id.reset(connection)
        logcontext.request_id.reset(request)
        handler.setStream(previous)
        logs.configure("INFO")
    first, second = (json.loads(line) for line in buffer.getvalue().splitlines())
    assert first["msg"] == "frame refused: invalid" and first["code"] == 4008
    assert first["level"] == "INFO" and first["logger"] == "parley.ws"
    for line in (first, second):
        assert line["request_id"] == "req-1"
        assert line["connection_id"] == "0123456789abcdef"
    assert second["msg"] == f"GET /x?ticket={REDACTED}"


def test_a_line_outside_any_request_has_no_ids() -> None:
    logs.configure("INFO", "json")
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        logging.getLogger("parley.hub").warning("periodic job failed")
    finally:
        handler.setStream(previous)
        logs.configure("INFO")
    line = json.loads(buffer.getvalue())
    assert "request_id" not in line and "connection_id" not in line


# --- a real `parley serve` process ---------------------------------------------------------


@dataclass
class Served:
    url: str
    ws_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _spawn_parley_serve(settings: Settings, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = settings_env(settings) | {"PARLEY_LOG_LEVEL": "INFO"}
    parley = Path(sys.executable).with_name("parley")
    cmd = [str(parley), "serve", "--port", str(port), "--workers", "1", "--access-log"]
    with log_path.open("wb") as log:
        return subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
        )


@contextlib.asynccontextmanager
async def parley_serve(settings: Settings, log_path: Path) -> AsyncIterator[Served]:
    """`parley serve --access-log` (one worker) at INFO, stdout and stderr into log_path.

    Ready means *this* process is listening (its log says so) and answers /readyz: a port
    picked free can be taken by another server before ours binds it, and that server's
    /readyz must not pass for ours. A lost port is retried on a new one."""
    for _ in range(3):
        port = free_port()
        proc = _spawn_parley_serve(settings, port, log_path)
        served = Served(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws", log_path)
        try:
            if await _ready(proc, served, port):
                break
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        assert "address already in use" in served.log(), f"parley serve exited:\n{served.log()}"
    else:
        raise AssertionError(f"parley serve found no free port:\n{served.log()}")
    try:
        yield served
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


async def _ready(proc: subprocess.Popen[bytes], served: Served, port: int) -> bool:
    """True once `proc` listens on `port` and is ready; False if it exited."""
    async with asyncio.timeout(60), httpx.AsyncClient(timeout=2) as http:
        while proc.poll() is None:
            if f"running on http://127.0.0.1:{port}" in served.log():
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{served.url}/readyz")).status_code == 200:
                        return True
            await asyncio.sleep(0.1)
    return False


async def _log_shows(served: Served, *needles: str, within: float = 15) -> str:
    """The log once every needle appears in it (the lines are written asynchronously)."""
    async with asyncio.timeout(within):
        while True:
            log = served.log()
            if all(n in log for n in needles):
                return log
            await asyncio.sleep(0.05)


@pytest.mark.processes
async def test_a_real_server_never_logs_credentials_from_query_strings_or_headers(
    db: AsyncEngine, settings: Settings, tmp_path: Path
) -> None:
    async with db.begin() as conn:
        # A user of its own also keeps `parley serve` from seeding the demo data.
        user_id = (
            await conn.execute(
                text(
                    "INSERT INTO users (email, display_name, role, is_active) "
                    "VALUES ('asha@example.com', 'Asha', 'student', true) RETURNING id"
                )
            )
        ).scalar_one()
    token = token_codec(settings).issue(user_id, "student", TokenKind.access)
    bearer = {"Authorization": f"Bearer {token}"}

    async with parley_serve(settings, tmp_path / "serve.log") as served:
        async with httpx.AsyncClient(base_url=served.url, timeout=10) as http:
            r = await http.post("/api/v1/auth/ticket", headers=bearer)
            assert r.status_code == 201, r.text
            ticket = r.json()["ticket"]
            # A refused handshake (foreign Origin): uvicorn logs `"WebSocket /ws?..." 403`.
            with pytest.raises(InvalidStatus):
                async with connect(
                    f"{served.ws_url}?token={token}",
                    additional_headers={"Origin": "http://evil.example"},
                ):
                    pass
            # An accepted one: `"WebSocket /ws?..." [accepted]`.
            async with connect(f"{served.ws_url}?token={token}&probe=accepted") as ws:
                await ws.send('{"type": "auth", "token": "' + token + '"}')
                await ws.recv()
            me = await http.get(f"/api/v1/users/me?ticket={ticket}&token={token}", headers=bearer)
            assert me.status_code == 200, me.text

        log = await _log_shows(
            served, '"WebSocket /ws?', " 403", "[accepted]", "GET /api/v1/users/me?"
        )
    assert token not in log, log
    assert ticket not in log, log
    assert f"/ws?token={REDACTED}" in log, log
    assert f"/ws?token={REDACTED}&probe=accepted" in log, log
    assert f"/api/v1/users/me?ticket={REDACTED}&token={REDACTED}" in log, log
