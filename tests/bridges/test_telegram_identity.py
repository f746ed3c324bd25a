"""Who the bridge acts for: `/start` binds a new Parley user, `/link CODE` an existing one,
`/unlink` ends it at once (docs/telegram.md, docs/protocol.md §18)."""

from __future__ import annotations

import httpx

from tests.bridges.conftest import AsUser, Bridge
from tests.bridges.fake_telegram import FakeTelegram
from tests.bridges.test_telegram_bot import QUESTION, final_answer, started
from tests.servers import InProcessServer

ASHA = 6001


async def registered(server: InProcessServer) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        email = "asha@example.com"
        r = await http.post(
            "/api/v1/auth/register",
            json={"email": email, "password": "correct horse battery", "display_name": "Asha"},
        )
        assert r.status_code == 201, r.text
        t = await http.post(
            "/api/v1/auth/token", data={"username": email, "password": "correct horse battery"}
        )
        return {"Authorization": f"Bearer {t.json()['access_token']}"}


async def test_link_code_brings_an_existing_account_into_telegram(
    telegram: FakeTelegram, bridge: Bridge, parley: AsUser, server: InProcessServer
) -> None:
    asha = await registered(server)
    async with httpx.AsyncClient(base_url=server.url) as http:
        code = (await http.post("/api/v1/users/me/link-codes", headers=asha)).json()["code"]
        await telegram.say(ASHA, f"/link {code}", name="A")
        await telegram.wait_for(lambda: any("Linked" in t for t in telegram.texts(ASHA)))
        assert "Asha" in telegram.texts(ASHA)[-1]

        await telegram.say(ASHA, QUESTION)
        body = await final_answer(telegram, parley, ASHA, ASHA)
        rooms = (await http.get("/api/v1/rooms", headers=asha)).json()
        (conversation,) = [r for r in rooms if r["kind"] == "bot_conversation"]
        page = await http.get(f"/api/v1/rooms/{conversation['id']}/messages", headers=asha)
        assert [m["body"] for m in page.json()["items"]] == [QUESTION, body]

        again = (await http.post("/api/v1/users/me/link-codes", headers=asha)).json()["code"]
        await telegram.say(ASHA, f"/link {again}")
        await telegram.wait_for(lambda: "already linked" in telegram.texts(ASHA)[-1])


async def test_a_used_or_unknown_code_is_refused_in_plain_words(
    telegram: FakeTelegram, bridge: Bridge
) -> None:
    await telegram.say(ASHA, "/link ZZZZ2222")
    await telegram.wait_for(lambda: telegram.texts(ASHA))
    assert telegram.texts(ASHA) == ["That code is unknown, expired or already used."]


async def test_unlink_stops_the_bridge_acting_for_the_user_at_once(
    telegram: FakeTelegram, bridge: Bridge, parley: AsUser
) -> None:
    await started(telegram, ASHA)
    await telegram.say(ASHA, QUESTION)
    await final_answer(telegram, parley, ASHA, ASHA)

    await telegram.say(ASHA, "/unlink")
    await telegram.wait_for(lambda: "Unlinked" in telegram.texts(ASHA)[-1])
    refused = await parley.http.post(
        "/api/v1/service/tokens", json={"external_id": str(ASHA)}, headers=parley.service
    )
    assert refused.status_code == 403

    await telegram.say(ASHA, QUESTION)
    await telegram.wait_for(lambda: "not linked" in telegram.texts(ASHA)[-1])


async def test_text_from_someone_never_linked_gets_told_how_to_start(
    telegram: FakeTelegram, bridge: Bridge
) -> None:
    await telegram.say(ASHA, QUESTION)
    await telegram.wait_for(lambda: telegram.texts(ASHA))
    assert "/start" in telegram.texts(ASHA)[0]


async def test_join_with_an_invite_code_makes_the_user_a_member_of_the_study_group(
    telegram: FakeTelegram, bridge: Bridge, parley: AsUser, server: InProcessServer
) -> None:
    owner = await registered(server)
    async with httpx.AsyncClient(base_url=server.url) as http:
        group = (
            await http.post("/api/v1/rooms", json={"name": "Biology crew"}, headers=owner)
        ).json()
    await started(telegram, ASHA)
    await telegram.say(ASHA, f"/join {group['invite_code']}")
    await telegram.wait_for(lambda: "You joined Biology crew." in telegram.texts(ASHA))
    rooms = await parley.get(ASHA, "/rooms")
    assert [r["id"] for r in rooms] == [group["id"]]

    await telegram.say(ASHA, "/join nosuchcode")
    await telegram.wait_for(lambda: telegram.texts(ASHA)[-1] == "No group has that invite code.")
