"""Nothing lost or doubled in Telegram when Parley's workers are killed (kill -9) and the
bridge is restarted in the middle of an answer (real `uvicorn --workers 2` processes)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import psutil
import pytest
from pydantic import SecretStr

from bridges.telegram.settings import BridgeSettings
from client import MessageEvent, ParleyClient, StaticToken
from tests.bridges.conftest import AsUser, Bridge, bridge_settings_for
from tests.bridges.fake_telegram import FakeTelegram
from tests.bridges.test_telegram_bot import GROUP, QUESTION, RAVI, final_answer, started
from tests.servers import ServerProcess


@pytest.mark.timeout(240)  # two cold worker processes, twice, on a shared machine
async def test_workers_killed_and_bridge_restarted_mid_answer_lose_and_double_nothing(
    two_workers: ServerProcess, telegram: FakeTelegram, service_token: str, tmp_path: Path
) -> None:
    settings = BridgeSettings(
        bot_token=SecretStr(telegram.token),
        api_base=telegram.url,
        parley_url=two_workers.url,
        service_token=SecretStr(service_token),
        state_path=tmp_path / "bridge.sqlite3",
        poll_timeout=5,
    )
    bridge = Bridge(settings)
    await bridge.start()
    try:
        async with httpx.AsyncClient(base_url=two_workers.url, timeout=10) as http:
            parley = AsUser(http, service_token)
            await started(telegram)
            await telegram.say(RAVI, f"/ask {QUESTION}", chat_id=GROUP)
            await telegram.wait_for(lambda: telegram.texts(GROUP))

            assert two_workers.proc is not None
            for worker in psutil.Process(two_workers.proc.pid).children():
                os.kill(worker.pid, signal.SIGKILL)  # mid-answer, no close frame
            await bridge.restart()
            await two_workers.wait_ready(within=120)

            body = await final_answer(telegram, parley, GROUP, RAVI)
            assert telegram.texts(GROUP) == [body], "one message, neither lost nor doubled"
            (answer,) = await parley.bot_answers(RAVI)
            assert answer["triage"]["status"] in ("interrupted", "complete")
    finally:
        await bridge.stop()


@pytest.mark.timeout(240)
async def test_an_answer_interrupted_while_the_bridge_is_down_ends_in_the_same_message(
    two_workers: ServerProcess, telegram: FakeTelegram, service_token: str, tmp_path: Path
) -> None:
    """The stream is gone when the bridge comes back: only the durable `interrupted`
    message is left, and it must finish the message already shown, not add one."""
    settings = bridge_settings_for(
        two_workers.url, telegram, service_token, tmp_path / "bridge.sqlite3"
    )
    bridge = Bridge(settings)
    await bridge.start()
    try:
        async with httpx.AsyncClient(base_url=two_workers.url, timeout=10) as http:
            parley = AsUser(http, service_token)
            await started(telegram)
            await telegram.say(RAVI, f"/ask {QUESTION}", chat_id=GROUP)
            await telegram.wait_for(lambda: telegram.texts(GROUP))
            await bridge.stop()

            assert two_workers.proc is not None
            for worker in psutil.Process(two_workers.proc.pid).children():
                os.kill(worker.pid, signal.SIGKILL)
            await two_workers.wait_ready(within=120)
            (room,) = await parley.get(RAVI, "/rooms")
            token = StaticToken(await parley.token(RAVI))
            async with ParleyClient(two_workers.ws_url, token) as ravi:
                sub = await ravi.subscribe(f"room:{room['id']}", since=0)
                async with asyncio.timeout(60):  # the server marks the answer interrupted
                    async for event in sub:
                        if isinstance(event, MessageEvent) and event.author.bot:
                            break

            await bridge.start()
            body = await final_answer(telegram, parley, GROUP, RAVI)
            assert telegram.texts(GROUP) == [body], "one message, neither lost nor doubled"
            (answer,) = await parley.bot_answers(RAVI)
            assert answer["triage"]["status"] == "interrupted"
    finally:
        await bridge.stop()
