"""Nothing lost or doubled in Telegram when Parley's workers are killed (kill -9) and the
bridge is restarted in the middle of an answer (real `uvicorn --workers 2` processes)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import psutil
import pytest
from pydantic import SecretStr

from bridges.telegram.settings import BridgeSettings
from tests.bridges.conftest import AsUser, Bridge
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
