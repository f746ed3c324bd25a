"""Live authorization covers every channel a room membership grants, not only the room:
leaving a study group also ends its leaderboard subscription, on the spot."""

from __future__ import annotations

from tests.support import Api


async def test_leaving_a_group_ends_its_leaderboard_subscription_too(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    ws = await api.ws(ravi)
    reply = await ws.request({"type": "subscribe", "channel": f"leaderboard:{room}"})
    assert reply["type"] == "subscribed", reply
    left = await api.http.post(f"/api/v1/rooms/{room}/leave", headers=ravi.headers)
    assert left.status_code == 204, left.text
    gone = await ws.expect("unsubscribed", skip=frozenset({"board", "rank", "presence"}))
    assert gone["channel"] == f"leaderboard:{room}" and gone["reason"] == "left"
    again = await ws.request({"type": "subscribe", "channel": f"leaderboard:{room}"})
    assert again["type"] == "error" and again["code"] == "forbidden", again
    await ws.close()
