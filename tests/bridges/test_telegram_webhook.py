"""Webhook mode (`TELEGRAM_WEBHOOK_URL`): Telegram POSTs updates to the bridge, which
refuses any request without the secret token (docs/telegram.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from tests.bridges.conftest import Bridge, bridge_settings_for
from tests.bridges.fake_telegram import FakeTelegram
from tests.servers import InProcessServer, free_port

ASHA = 8001
SECRET = "s3cret_webhook-token"


@pytest.fixture
async def webhook_bridge(
    telegram: FakeTelegram, server: InProcessServer, service_token: str, tmp_path: Path
) -> AsyncIterator[Bridge]:
    port = free_port()
    b = Bridge(
        bridge_settings_for(
            server.url,
            telegram,
            service_token,
            tmp_path / "bridge.sqlite3",
            webhook_url=f"http://127.0.0.1:{port}/telegram/hook",
            webhook_host="127.0.0.1",
            webhook_port=port,
            webhook_secret=SecretStr(SECRET),
        )
    )
    await b.start()
    yield b
    await b.stop()


async def test_updates_arrive_by_webhook_and_a_wrong_secret_is_refused(
    telegram: FakeTelegram, webhook_bridge: Bridge
) -> None:
    assert telegram.webhook is not None
    assert telegram.webhook["secret_token"] == SECRET
    assert "message" in telegram.webhook["allowed_updates"]
    url = str(telegram.webhook["url"])

    await telegram.say(ASHA, "/start", name="Asha")
    await telegram.wait_for(lambda: any("Welcome" in t for t in telegram.texts(ASHA)))
    assert 200 in telegram.webhook_statuses
    assert not telegram.called("getUpdates"), "no polling in webhook mode"

    forged = {
        "update_id": 900001,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": ASHA + 1, "type": "private"},
            "from": {"id": ASHA + 1, "is_bot": False, "first_name": "Mallory"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    async with httpx.AsyncClient() as http:
        for headers in ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {}):
            r = await http.post(url, json=forged, headers=headers)
            assert r.status_code == 401

    # Handled in order after the forged ones: had those been taken, Mallory would have
    # been greeted before this second reply to Asha.
    await telegram.say(ASHA, "/start")
    await telegram.wait_for(lambda: any("Welcome back" in t for t in telegram.texts(ASHA)))
    assert telegram.texts(ASHA + 1) == []


def test_webhook_mode_needs_a_valid_secret(telegram: FakeTelegram, tmp_path: Path) -> None:
    for secret in (None, SecretStr("has spaces")):
        with pytest.raises(ValidationError, match="TELEGRAM_WEBHOOK_SECRET"):
            bridge_settings_for(
                "http://127.0.0.1:1",
                telegram,
                "token",
                tmp_path / "s.sqlite3",
                webhook_url="https://bot.example/hook",
                webhook_secret=secret,
            )
