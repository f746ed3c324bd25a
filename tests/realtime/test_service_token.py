"""Bridges connect with a service-account token (`parley token --service telegram`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from app.security import token_codec
from app.settings import Settings
from domain import accounts
from domain.security import TokenKind
from models.db import make_sessionmaker
from tests.support import Api, WsClient


async def test_a_service_token_opens_a_socket_as_the_service_user(
    api: Api, db: AsyncEngine, settings: Settings
) -> None:
    async with make_sessionmaker(db)() as session:
        bridge = await accounts.service_account(session, "telegram")
        again = await accounts.service_account(session, "telegram")
    assert again.id == bridge.id  # one account per service, created once
    token = token_codec(settings).issue(bridge.id, bridge.role.value, TokenKind.service)
    ws = await WsClient.open(api.ws_url, token)
    assert ws.hello["user"] == {"id": bridge.id, "name": "Telegram"}
    await ws.close()


async def test_a_service_account_has_no_password_to_log_in_with(api: Api, db: AsyncEngine) -> None:
    async with make_sessionmaker(db)() as session:
        bridge = await accounts.service_account(session, "telegram")
    r = await api.http.post(
        "/api/v1/auth/token", data={"username": bridge.email, "password": "anything-at-all"}
    )
    assert r.status_code == 401
