"""The Telegram bridge under test: the real bridge (in this process, real HTTP and
WebSocket) between a real Parley server and the fake Bot API server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from app.security import token_codec
from app.settings import Settings
from bridges.telegram.main import run
from bridges.telegram.settings import BridgeSettings
from domain import accounts
from domain.security import TokenKind
from models.db import make_sessionmaker
from tests.backing import Backing
from tests.bridges.fake_telegram import FakeTelegram
from tests.conftest import make_settings
from tests.servers import InProcessServer, ServerProcess, free_port
from tests.study.helpers import FAST


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start(free_port())
    yield fake
    await fake.stop()


@pytest.fixture
async def service_token(db: AsyncEngine, settings: Settings) -> str:
    """What `parley token --service telegram` prints."""
    async with make_sessionmaker(db)() as session:
        user = await accounts.service_account(session, "telegram")
    return token_codec(settings).issue(user.id, user.role.value, TokenKind.service)


class Bridge:
    """`parley bridge telegram`, run as a task; `restart` keeps its state file."""

    def __init__(self, settings: BridgeSettings) -> None:
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        ready = asyncio.Event()
        self._task = asyncio.create_task(run(self.settings, ready=ready))
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({self._task, waiter}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if self._task.done():
            self._task.result()
        assert ready.is_set(), "the bridge did not start"

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


@pytest.fixture
def bridge_settings(
    tmp_path: Path, telegram: FakeTelegram, server: InProcessServer, service_token: str
) -> BridgeSettings:
    return BridgeSettings(
        bot_token=SecretStr(telegram.token),
        api_base=telegram.url,
        parley_url=server.url,
        service_token=SecretStr(service_token),
        state_path=tmp_path / "bridge.sqlite3",
        poll_timeout=5,
    )


@pytest.fixture
async def bridge(bridge_settings: BridgeSettings) -> AsyncIterator[Bridge]:
    b = Bridge(bridge_settings)
    await b.start()
    yield b
    await b.stop()


class AsUser:
    """Reads Parley as a linked Telegram user, through the service (as the bridge does)."""

    def __init__(self, http: httpx.AsyncClient, service_token: str) -> None:
        self.http = http
        self.service = {"Authorization": f"Bearer {service_token}"}

    async def token(self, external_id: int) -> str:
        token = await self.http.post(
            "/api/v1/service/tokens", json={"external_id": str(external_id)}, headers=self.service
        )
        assert token.status_code == 200, token.text
        access: str = token.json()["access_token"]
        return access

    async def get(self, external_id: int, path: str) -> Any:
        return await self.call(external_id, "GET", path)

    async def call(
        self, external_id: int, method: str, path: str, body: Any = None, expect: int = 200
    ) -> Any:
        """A REST call as the linked user, asserting the status."""
        headers = {"Authorization": f"Bearer {await self.token(external_id)}"}
        r = await self.http.request(method, f"/api/v1{path}", json=body, headers=headers)
        assert r.status_code == expect, r.text
        return r.json() if r.content else None

    async def bot_answers(self, external_id: int) -> list[dict[str, Any]]:
        """The bot's durable messages in the user's conversations, oldest first."""
        out: list[dict[str, Any]] = []
        for room in await self.get(external_id, "/rooms"):
            page = await self.get(external_id, f"/rooms/{room['id']}/messages?limit=200")
            out += [m for m in page["items"] if m["author"].get("bot")]
        return out


@pytest.fixture
async def parley(server: InProcessServer, service_token: str) -> AsyncIterator[AsUser]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        yield AsUser(http, service_token)


@pytest.fixture
async def two_workers(
    db: AsyncEngine, backing: Backing, redis_prefix: str, tmp_path: Path
) -> AsyncIterator[ServerProcess]:
    """A real `uvicorn --workers 2` Parley, with short quiz timings (tests.study)."""
    server = ServerProcess(make_settings(backing, redis_prefix, tmp_path, **FAST), workers=2)
    server.start()
    try:
        await server.wait_ready(within=120)  # two cold workers on a loaded machine
        yield server
    finally:
        server.stop()


def bridge_settings_for(
    parley_url: str, telegram: FakeTelegram, service_token: str, state: Path, **extra: Any
) -> BridgeSettings:
    return BridgeSettings(
        bot_token=SecretStr(telegram.token),
        api_base=telegram.url,
        parley_url=parley_url,
        service_token=SecretStr(service_token),
        state_path=state,
        poll_timeout=5,
        **extra,
    )


@pytest.fixture
async def cluster_bridge(
    two_workers: ServerProcess, telegram: FakeTelegram, service_token: str, tmp_path: Path
) -> AsyncIterator[Bridge]:
    """The bridge between the two-worker Parley and the fake Bot API."""
    b = Bridge(
        bridge_settings_for(two_workers.url, telegram, service_token, tmp_path / "b.sqlite3")
    )
    await b.start()
    yield b
    await b.stop()


@pytest.fixture
async def cluster_parley(two_workers: ServerProcess, service_token: str) -> AsyncIterator[AsUser]:
    async with httpx.AsyncClient(base_url=two_workers.url, timeout=15) as http:
        yield AsUser(http, service_token)
