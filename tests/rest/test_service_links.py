"""/api/v1/service and /api/v1/users/me/links: a bridge acts only for users linked to it.

A bridge holds one service token. It binds new users (`/start`) or links existing ones with
a one-time code (`/link CODE`), and exchanges its token for short-lived access tokens of
linked users only. Unlinking (by the service or by the user) revokes every such token at
once: REST refuses it and its open sockets close with 4001.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.security import token_codec
from app.settings import Settings
from domain import accounts
from domain.security import TokenKind
from models.db import make_sessionmaker
from tests.rest.expect import error_of
from tests.support import Api, WsClient


async def service_token(db: AsyncEngine, settings: Settings, name: str = "telegram") -> str:
    """What `parley token --service NAME` prints."""
    async with make_sessionmaker(db)() as session:
        user = await accounts.service_account(session, name)
    return token_codec(settings).issue(user.id, user.role.value, TokenKind.service)


@pytest.fixture
async def bridge(db: AsyncEngine, settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {await service_token(db, settings)}"}


async def act_as(api: Api, bridge: dict[str, str], external_id: str) -> Any:
    return await api.http.post(
        "/api/v1/service/tokens", json={"external_id": external_id}, headers=bridge
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_start_binds_a_new_user_once_and_the_bridge_acts_as_them(
    api: Api, bridge: dict[str, str]
) -> None:
    body = {"external_id": "7001", "display_name": "Ravi"}
    first = await api.http.post("/api/v1/service/users", json=body, headers=bridge)
    assert first.status_code == 201, first.text
    assert first.json()["created"] is True
    again = await api.http.post("/api/v1/service/users", json=body, headers=bridge)
    assert again.status_code == 200
    assert again.json() == {**first.json(), "created": False}

    issued = await act_as(api, bridge, "7001")
    assert issued.status_code == 200, issued.text
    assert 0 < issued.json()["expires_in"] <= 3600
    me = await api.http.get("/api/v1/users/me", headers=bearer(issued.json()["access_token"]))
    assert me.json()["id"] == first.json()["user"]["id"]
    assert me.json()["display_name"] == "Ravi"
    room = await api.http.post(
        "/api/v1/rooms", json={"kind": "bot_conversation"}, headers=bearer(me_token(issued))
    )
    assert room.status_code == 201
    assert room.json()["owner_id"] == me.json()["id"]


def me_token(response: Any) -> str:
    token: str = response.json()["access_token"]
    return token


async def test_the_service_gets_no_token_for_anyone_not_linked_to_it(
    api: Api, bridge: dict[str, str]
) -> None:
    asha = await api.user("Asha")
    r = await act_as(api, bridge, str(asha.id))
    error_of(r, 403, "forbidden")


async def test_another_service_cannot_act_for_this_services_users(
    api: Api, bridge: dict[str, str], db: AsyncEngine, settings: Settings
) -> None:
    await api.http.post(
        "/api/v1/service/users", json={"external_id": "7002", "display_name": "M"}, headers=bridge
    )
    other = bearer(await service_token(db, settings, "discord"))
    r = await act_as(api, other, "7002")
    assert r.status_code == 403


async def test_only_a_service_token_may_use_the_service_endpoints(api: Api) -> None:
    asha = await api.user("Asha")
    for method, path, body in (
        ("POST", "/api/v1/service/users", {"external_id": "1", "display_name": "X"}),
        ("POST", "/api/v1/service/tokens", {"external_id": "1"}),
        ("POST", "/api/v1/service/links", {"external_id": "1", "code": "ABCDEFGH"}),
        ("DELETE", "/api/v1/service/links/1", None),
    ):
        r = await api.http.request(method, path, json=body, headers=asha.headers)
        error_of(r, 403, "forbidden")
    anonymous = await api.http.post("/api/v1/service/tokens", json={"external_id": "1"})
    assert anonymous.status_code == 401


async def test_link_code_links_an_existing_account_once(api: Api, bridge: dict[str, str]) -> None:
    asha = await api.user("Asha")
    code = await api.http.post("/api/v1/users/me/link-codes", headers=asha.headers)
    assert code.status_code == 201
    assert code.json()["expires_in"] > 0
    value = code.json()["code"]

    linked = await api.http.post(
        "/api/v1/service/links",
        json={"external_id": "8001", "code": value.lower()},
        headers=bridge,
    )
    assert linked.status_code == 200, linked.text
    assert linked.json()["id"] == asha.id
    reused = await api.http.post(
        "/api/v1/service/links", json={"external_id": "8002", "code": value}, headers=bridge
    )
    error_of(reused, 404, "not_found")

    issued = await act_as(api, bridge, "8001")
    me = await api.http.get("/api/v1/users/me", headers=bearer(me_token(issued)))
    assert me.json()["id"] == asha.id
    mine = await api.http.get("/api/v1/users/me/links", headers=asha.headers)
    assert [(x["service"], x["external_id"]) for x in mine.json()] == [("telegram", "8001")]


async def test_a_user_is_linked_to_a_service_at_most_once(api: Api, bridge: dict[str, str]) -> None:
    asha = await api.user("Asha")
    for external_id, expected in (("8101", 200), ("8102", 409)):
        code = (await api.http.post("/api/v1/users/me/link-codes", headers=asha.headers)).json()
        r = await api.http.post(
            "/api/v1/service/links",
            json={"external_id": external_id, "code": code["code"]},
            headers=bridge,
        )
        assert r.status_code == expected, r.text


async def test_a_malformed_code_or_identity_is_invalid(api: Api, bridge: dict[str, str]) -> None:
    for body in (
        {"external_id": "8201", "code": "short"},
        {"external_id": "has space", "code": "ABCDEFGH"},
        {"external_id": "x" * 65, "code": "ABCDEFGH"},
    ):
        r = await api.http.post("/api/v1/service/links", json=body, headers=bridge)
        error_of(r, 422, "invalid")


@pytest.mark.parametrize("side", ["service", "user"])
async def test_unlinking_revokes_the_bridges_tokens_at_once(
    api: Api, bridge: dict[str, str], side: str
) -> None:
    asha = await api.user("Asha")
    code = (await api.http.post("/api/v1/users/me/link-codes", headers=asha.headers)).json()
    await api.http.post(
        "/api/v1/service/links", json={"external_id": "9001", "code": code["code"]}, headers=bridge
    )
    token = me_token(await act_as(api, bridge, "9001"))
    ws = await WsClient.open(api.ws_url, token)

    if side == "service":
        r = await api.http.delete("/api/v1/service/links/9001", headers=bridge)
    else:
        r = await api.http.delete("/api/v1/users/me/links/telegram", headers=asha.headers)
    assert r.status_code == 204, r.text

    assert await ws.closed_with() == 4001
    me = await api.http.get("/api/v1/users/me", headers=bearer(token))
    assert me.status_code == 401
    assert (await act_as(api, bridge, "9001")).status_code == 403
    # The person's own tokens are untouched.
    assert (await api.http.get("/api/v1/users/me", headers=asha.headers)).status_code == 200
    again = await api.http.delete("/api/v1/service/links/9001", headers=bridge)
    assert again.status_code == 404
