"""SSE: `GET /api/v1/rooms/{id}/events` streams the same events as the `room:{id}` channel.

Each SSE event carries `event: <type>`, `id: <seq>` for durable events, and `data:` with the
exact JSON of the WebSocket frame; `Last-Event-ID` / `?since=` resume like `subscribe` with
`since`; auth is a Bearer header or a single-use ticket (PROTOCOL.md, "SSE").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from realtime.hub import Hub
from tests.bot.support import conversation
from tests.care.support import access_log, doctor, share
from tests.conftest import ApiFactory
from tests.realtime.sse_api import stream
from tests.rest.expect import error_of
from tests.servers import InProcessServer
from tests.support import Api


async def test_a_stream_opens_with_subscribed_then_presence(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    await api.post(asha, room, "already there")
    async with stream(api, room, asha) as s:
        assert s.response.headers["content-type"].startswith("text/event-stream")
        assert s.response.headers["x-accel-buffering"] == "no"
        first = await s.next()
        assert first.event == "subscribed" and first.id is None
        assert first.json == {
            "type": "subscribed",
            "channel": f"room:{room}",
            "head": 1,
            "recovered": True,
        }
        presence = await s.next()
        assert presence.event == "presence" and presence.id is None
        assert presence.json == {
            "type": "presence",
            "channel": f"room:{room}",
            "online": [{"id": asha.id, "name": "Asha"}],
            "count": 1,
        }
        assert s.retry is not None and s.retry > 0  # a reconnect hint for EventSource


async def test_a_posted_message_arrives_as_the_same_json_as_the_websocket_frame(
    api: Api,
) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    ws = await api.ws(ravi)
    await ws.subscribe(f"room:{room}")
    async with stream(api, room, asha) as s:
        await s.expect("subscribed")
        await s.expect("presence")
        posted = await api.post(ravi, room, "hello over SSE", client_id="sse-1")
        ev = await s.expect("message")
        (frame,) = await ws.messages(1)
    await ws.close()
    assert ev.id == str(posted["seq"]) == "1"
    assert ev.json == frame
    assert frame == {
        "type": "message",
        "channel": f"room:{room}",
        "seq": 1,
        "id": posted["id"],
        "author": {"id": ravi.id, "name": "Ravi"},
        "body": "hello over SSE",
        "client_id": "sse-1",
        "created_at": posted["created_at"],
    }


async def test_messages_stream_in_order_with_their_seq_as_event_id(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    async with stream(api, room, asha) as s:
        await s.expect("subscribed")
        for i in range(5):
            await api.post(asha, room, f"m{i}")
        got = await s.messages(5)
    assert [ev.id for ev in got] == ["1", "2", "3", "4", "5"]
    assert [ev.json["body"] for ev in got] == [f"m{i}" for i in range(5)]


async def test_last_event_id_resumes_exactly_after_that_seq(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    for i in range(1, 6):
        await api.post(asha, room, f"m{i}")
    async with stream(api, room, asha, headers={"Last-Event-ID": "2"}) as s:
        subscribed = await s.expect("subscribed")
        assert subscribed.json["head"] == 5 and subscribed.json["recovered"] is True
        replayed = await s.messages(3)
        await api.post(asha, room, "m6")
        (live,) = await s.messages(1)
    assert [ev.id for ev in [*replayed, live]] == ["3", "4", "5", "6"]
    assert [ev.json["body"] for ev in [*replayed, live]] == ["m3", "m4", "m5", "m6"]


async def test_since_resumes_exactly_after_that_seq(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    for i in range(1, 5):
        await api.post(asha, room, f"m{i}")
    async with stream(api, room, asha, params={"since": 3}) as s:
        subscribed = await s.expect("subscribed")
        assert subscribed.json["head"] == 4 and subscribed.json["recovered"] is True
        (replayed,) = await s.messages(1)
        await api.post(asha, room, "m5")
        (live,) = await s.messages(1)
    assert [replayed.id, live.id] == ["4", "5"]


async def test_last_event_id_wins_over_the_since_of_the_original_url(api: Api) -> None:
    """EventSource reconnects to the same URL (with its `since`) plus Last-Event-ID."""
    asha = await api.user("Asha")
    room = await api.room(asha)
    for i in range(1, 5):
        await api.post(asha, room, f"m{i}")
    async with stream(api, room, asha, headers={"Last-Event-ID": "3"}, params={"since": 1}) as s:
        await s.expect("subscribed")
        (replayed,) = await s.messages(1)
        await api.post(asha, room, "m5")
        (live,) = await s.messages(1)
    assert [replayed.id, live.id] == ["4", "5"]


async def test_resuming_from_beyond_the_head_is_not_recovered(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    await api.post(asha, room, "m1")
    async with stream(api, room, asha, headers={"Last-Event-ID": "9"}) as s:
        subscribed = await s.expect("subscribed")
    assert subscribed.json["head"] == 1 and subscribed.json["recovered"] is False


async def test_a_ticket_authenticates_one_stream_once(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    r = await api.http.post("/api/v1/auth/ticket", headers=asha.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert isinstance(body["ticket"], str) and 0 < body["expires_in"] <= 60
    async with stream(api, room, params={"ticket": body["ticket"]}) as s:
        subscribed = await s.expect("subscribed")
        assert subscribed.json["channel"] == f"room:{room}"
        presence = await s.expect("presence")
        assert presence.json["online"] == [{"id": asha.id, "name": "Asha"}]
        again = await api.http.get(
            f"/api/v1/rooms/{room}/events", params={"ticket": body["ticket"]}
        )
        error_of(again, 401, "unauthorized")
    after = await api.http.get(f"/api/v1/rooms/{room}/events", params={"ticket": body["ticket"]})
    error_of(after, 401, "unauthorized")


async def test_a_ticket_needs_an_authenticated_caller(api: Api) -> None:
    error_of(await api.http.post("/api/v1/auth/ticket"), 401, "unauthorized")


async def test_an_unknown_ticket_is_unauthorized(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    r = await api.http.get(f"/api/v1/rooms/{room}/events", params={"ticket": "made-up"})
    error_of(r, 401, "unauthorized")


async def test_no_auth_is_unauthorized(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    error_of(await api.http.get(f"/api/v1/rooms/{room}/events"), 401, "unauthorized")


async def test_a_bad_token_is_unauthorized(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    r = await api.http.get(
        f"/api/v1/rooms/{room}/events", headers={"Authorization": "Bearer not-a-jwt"}
    )
    error_of(r, 401, "unauthorized")


async def test_a_non_member_is_forbidden(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha)
    r = await api.http.get(f"/api/v1/rooms/{room}/events", headers=ravi.headers)
    error_of(r, 403, "forbidden")


async def test_an_unknown_room_is_not_found(api: Api) -> None:
    asha = await api.user("Asha")
    r = await api.http.get("/api/v1/rooms/987654321/events", headers=asha.headers)
    error_of(r, 404, "not_found")


async def test_a_last_event_id_that_is_not_a_seq_is_invalid(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    for bad in ("abc", "-1", "1.5"):
        r = await api.http.get(
            f"/api/v1/rooms/{room}/events", headers={**asha.headers, "Last-Event-ID": bad}
        )
        error_of(r, 422, "invalid")


async def test_a_negative_since_is_invalid(api: Api) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    r = await api.http.get(
        f"/api/v1/rooms/{room}/events", headers=asha.headers, params={"since": -1}
    )
    error_of(r, 422, "invalid")


async def test_a_listener_is_online_while_streaming_and_leaves_when_the_stream_closes(
    api: Api,
) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    ws = await api.ws(asha)
    await ws.subscribe(f"room:{room}")
    own = await ws.expect("join", skip=frozenset({"presence"}))
    assert own["user"]["id"] == asha.id
    async with stream(api, room, ravi) as s:
        await s.expect("subscribed")
        presence = await s.expect("presence")
        assert presence.json["online"] == [
            {"id": asha.id, "name": "Asha"},
            {"id": ravi.id, "name": "Ravi"},
        ]
        joined = await ws.expect("join", skip=frozenset({"presence"}))
        assert joined["user"] == {"id": ravi.id, "name": "Ravi"}
    left = await ws.expect("leave", skip=frozenset({"presence", "join"}))
    assert left == {"type": "leave", "channel": f"room:{room}", "user": joined["user"]}
    await ws.close()


async def test_closing_a_stream_releases_its_connection_and_channel_on_the_server(
    server: InProcessServer, api: Api
) -> None:
    hub: Hub = cast(Any, server.app).state.hub
    asha = await api.user("Asha")
    room = await api.room(asha)
    channel = f"room:{room}"
    async with stream(api, room, asha) as s:
        await s.expect("subscribed")
        assert channel in hub.channels and len(hub.connections) == 1
    try:
        async with asyncio.timeout(5):
            while True:
                if not hub.connections and channel not in hub.channels:
                    break
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(
            f"5 s after the client closed its stream the hub still holds "
            f"{len(hub.connections)} connection(s) and channels {sorted(hub.channels)}"
        )
    assert await hub.broker.presence_list(channel) == []


@pytest.fixture
async def chatty_api(api_with: ApiFactory) -> AsyncIterator[Api]:
    """A server whose SSE keep-alive period is 1 s instead of 15 s."""
    async with api_with(sse_keepalive_seconds=1) as api:
        yield api


async def test_an_idle_stream_gets_keep_alive_comments(chatty_api: Api) -> None:
    api = chatty_api
    asha = await api.user("Asha")
    room = await api.room(asha)
    async with stream(api, room, asha) as s:
        await s.expect("subscribed")
        await s.expect("presence")
        for _ in range(2):
            line = await s.keepalive(within=5)
            assert line.startswith(":")
        # Still a live stream after the keep-alives.
        await api.post(asha, room, "still here")
        (ev,) = await s.messages(1)
    assert ev.json["body"] == "still here"


async def test_a_doctors_stream_of_a_shared_conversation_is_in_the_access_log_once(
    api: Api, db: AsyncEngine
) -> None:
    """The stream's authorization (answered as an HTTP status) is the subscribe's: the
    patient sees one `subscribe` entry per stream the doctor opened, as for a socket."""
    asha = await api.user("Asha")
    doc = await doctor(api, db, "Dr. Quill")
    room = await conversation(api, asha)
    await share(api, asha, room, doc)
    async with stream(api, room, doc) as s:
        await s.expect("subscribed")
    logged = await access_log(api, asha)
    assert [(e["actor"]["id"], e["action"], e["room_id"]) for e in logged] == [
        (doc.id, "subscribe", room)
    ]
