"""The WebSocket contract of PROTOCOL.md, frame by frame, against a real server."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from websockets.exceptions import InvalidStatus

from app.security import token_codec
from app.settings import Settings
from domain.security import TokenKind
from tests.support import Api, WsClient


async def test_hello_names_the_node_user_and_heartbeat(api: Api) -> None:
    asha = await api.user("Asha")
    ws = await api.ws(asha)
    assert ws.hello["user"] == {"id": asha.id, "name": "Asha"}
    assert ws.hello["node"] and ws.hello["heartbeat"] == 25
    await ws.close()


async def test_ping_is_answered_with_pong_echoing_ref(api: Api) -> None:
    ws = await api.ws(await api.user())
    await ws.send({"type": "ping", "ref": "p1"})
    assert await ws.expect("pong") == {"type": "pong", "ref": "p1"}
    await ws.close()


async def test_send_acks_with_seq_and_reaches_every_subscriber_including_sender(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    a, r = await api.ws(asha), await api.ws(ravi)
    await a.subscribe(f"room:{room}")
    await r.subscribe(f"room:{room}")
    ack = await a.send_message(f"room:{room}", "hi", client_id="c1")
    assert ack == {
        "type": "ack",
        "ref": ack["ref"],
        "channel": f"room:{room}",
        "seq": 1,
        "client_id": "c1",
    }
    for client in (a, r):
        (msg,) = await client.messages(1)
        assert msg["seq"] == 1 and msg["body"] == "hi" and msg["client_id"] == "c1"
        assert msg["author"] == {"id": asha.id, "name": "Asha"}
        assert msg["channel"] == f"room:{room}" and msg["created_at"].endswith("Z")
    await a.close()
    await r.close()


async def test_retried_send_is_stored_once_and_acked_with_the_first_seq(api: Api) -> None:
    asha = await api.user()
    room = await api.room(asha)
    ws = await api.ws(asha)
    await ws.subscribe(f"room:{room}")
    first = await ws.send_message(f"room:{room}", "once", client_id="same")
    again = await ws.send_message(f"room:{room}", "once", client_id="same")
    assert first["seq"] == again["seq"] == 1
    history = (await api.http.get(f"/api/v1/rooms/{room}/messages", headers=asha.headers)).json()
    assert [m["seq"] for m in history["items"]] == [1]
    await ws.close()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"no_type": 1}', "unknown_type"),
        ('{"type": "subscribe"}', "invalid"),
        ('{"type": "subscribe", "channel": "room:1", "since": -1}', "invalid"),
        ('{"type": "send", "channel": "room:1", "body": ""}', "invalid"),
        ('{"type": "subscribe", "channel": "nonsense"}', "invalid"),
    ],
)
async def test_bad_frames_get_an_error_and_the_connection_stays_open(
    api: Api, raw: str, code: str
) -> None:
    ws = await api.ws(await api.user())
    await ws.send(raw)
    error = await ws.expect("error")
    assert error["code"] == code and error["message"]
    await ws.send({"type": "ping", "ref": "still-open"})
    assert (await ws.expect("pong"))["ref"] == "still-open"
    await ws.close()


async def test_error_echoes_the_ref_of_the_frame_that_caused_it(api: Api) -> None:
    ws = await api.ws(await api.user())
    await ws.send({"type": "subscribe", "ref": "x9", "channel": "room:999999"})
    error = await ws.expect("error")
    assert error == {
        "type": "error",
        "ref": "x9",
        "code": "not_found",
        "message": "Room 999999 does not exist.",
    }
    await ws.close()


async def test_oversize_frame_is_refused_with_too_large(api: Api) -> None:
    ws = await api.ws(await api.user())
    await ws.send(json.dumps({"type": "ping", "pad": "x" * (70 * 1024)}))
    assert (await ws.expect("error"))["code"] == "too_large"
    await ws.close()


async def test_frame_beyond_the_hard_limit_closes_with_1009(api: Api) -> None:
    ws = await api.ws(await api.user())
    await ws.send("x" * (2 * 1024 * 1024))
    assert await ws.closed_with() == 1009


async def test_body_over_the_limit_is_too_large_and_not_stored(api: Api) -> None:
    asha = await api.user()
    room = await api.room(asha)
    ws = await api.ws(asha)
    reply = await ws.send_message(f"room:{room}", "x" * 4001)
    assert reply["type"] == "error" and reply["code"] == "too_large"
    r = await api.http.get(f"/api/v1/rooms/{room}/messages", headers=asha.headers)
    assert r.json()["items"] == []
    await ws.close()


async def test_subscribe_to_a_room_you_are_not_in_is_forbidden(api: Api) -> None:
    asha, eve = await api.user("Asha"), await api.user("Eve")
    room = await api.room(asha)
    ws = await api.ws(eve)
    reply = await ws.request({"type": "subscribe", "channel": f"room:{room}"})
    assert reply["type"] == "error" and reply["code"] == "forbidden"
    send = await ws.send_message(f"room:{room}", "let me in")
    assert send["type"] == "error" and send["code"] == "forbidden"
    await ws.close()


async def test_unknown_channel_kind_is_not_found(api: Api) -> None:
    ws = await api.ws(await api.user())
    reply = await ws.request({"type": "subscribe", "channel": "galaxy:1"})
    assert reply["code"] == "not_found"
    await ws.close()


async def test_unsubscribe_stops_delivery(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    a, r = await api.ws(asha), await api.ws(ravi)
    await r.subscribe(f"room:{room}")
    await r.request({"type": "unsubscribe", "channel": f"room:{room}"})
    await a.send_message(f"room:{room}", "anyone?")
    await r.send({"type": "ping", "ref": "after"})
    # Pong arrives and no message came before it.
    assert (await r.expect("pong"))["ref"] == "after"
    await a.close()
    await r.close()


async def test_first_frame_must_be_auth(api: Api) -> None:
    ws = await WsClient.open(api.ws_url, None)
    await ws.send({"type": "ping"})
    error = await ws.recv()
    assert error["type"] == "error" and error["code"] == "unauthorized"
    assert await ws.closed_with() == 4001


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
async def test_bad_token_closes_with_4001(api: Api, token: str) -> None:
    ws = await WsClient.open(api.ws_url, None)
    await ws.send({"type": "auth", "token": token})
    assert await ws.closed_with() == 4001


async def test_refresh_token_cannot_open_a_socket(api: Api) -> None:
    asha = await api.user()
    ws = await WsClient.open(api.ws_url, None)
    await ws.send({"type": "auth", "token": asha.refresh_token})
    assert await ws.closed_with() == 4001


async def test_cross_origin_upgrade_is_refused(api: Api) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await WsClient.open(api.ws_url, None, origin="http://evil.example")
    assert refused.value.response.status_code == 403


async def test_allowed_origin_and_no_origin_are_accepted(api: Api) -> None:
    asha = await api.user()
    browser = await WsClient.open(api.ws_url, asha.token, origin="http://allowed.example")
    bridge = await WsClient.open(api.ws_url, asha.token)
    assert browser.hello["type"] == bridge.hello["type"] == "hello"
    await browser.close()
    await bridge.close()


async def test_expired_token_closes_a_live_connection_with_4001(
    api: Api, settings: Settings
) -> None:
    asha = await api.user()
    short = token_codec(settings).issue(
        asha.id, "student", TokenKind.access, ttl=timedelta(seconds=2)
    )
    ws = await WsClient.open(api.ws_url, short)
    error = await ws.expect("error", within=15)
    assert error["code"] == "unauthorized"
    assert await ws.closed_with() == 4001


async def test_refresh_in_band_keeps_the_connection_open(api: Api, settings: Settings) -> None:
    asha = await api.user()
    codec = token_codec(settings)
    short = codec.issue(asha.id, "student", TokenKind.access, ttl=timedelta(seconds=3))
    ws = await WsClient.open(api.ws_url, short)
    reply = await ws.request({"type": "refresh", "token": asha.token})
    assert reply["type"] == "refreshed"
    # Past the first token's expiry the connection still answers.
    ws_ok = await ws.request({"type": "ping"}, within=10)
    assert ws_ok["type"] == "pong"
    await ws.close()


async def test_refresh_with_another_users_token_is_forbidden(api: Api) -> None:
    asha, eve = await api.user("Asha"), await api.user("Eve")
    ws = await api.ws(asha)
    reply = await ws.request({"type": "refresh", "token": eve.token})
    assert reply["type"] == "error" and reply["code"] == "forbidden"
    await ws.close()


async def test_read_position_is_stored_and_exposed(api: Api) -> None:
    asha = await api.user()
    room = await api.room(asha)
    await api.post(asha, room, "one")
    await api.post(asha, room, "two")
    ws = await api.ws(asha)
    reply = await ws.request({"type": "read", "channel": f"room:{room}", "seq": 2})
    assert reply == {"type": "marked", "ref": reply["ref"], "channel": f"room:{room}", "seq": 2}
    members = (await api.http.get(f"/api/v1/rooms/{room}/members", headers=asha.headers)).json()
    assert members[0]["last_read_seq"] == 2
    await ws.close()
