"""The SSE reader: typed events from `/api/v1/rooms/{id}/events`, resumed with
`Last-Event-ID` after the server side dropped the stream (PROTOCOL.md "SSE")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from app.settings import Settings
from client import Backoff, MessageEvent, ParleyClient, PresenceEvent, SseStream
from tests.client.conftest import TokensFor, until
from tests.servers import InProcessServer, free_port
from tests.support import Api


async def take(events: AsyncIterator[object], count: int, within: float = 20) -> list[MessageEvent]:
    out: list[MessageEvent] = []
    async with asyncio.timeout(within):
        async for event in events:
            if isinstance(event, MessageEvent):
                out.append(event)
                if len(out) == count:
                    break
    return out


async def test_the_sse_reader_yields_typed_events_from_a_given_point(
    api: Api, tokens_for: TokensFor
) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    for i in range(3):
        await api.post(asha, room, f"old {i}")
    async with (
        ParleyClient(api.ws_url, tokens_for(asha)) as client,
        client.sse(f"/api/v1/rooms/{room}/events", since=1) as stream,
    ):
        events = aiter(stream)
        assert isinstance(await anext(events), PresenceEvent)
        await api.post(asha, room, "live")
        got = await take(events, 3)
        assert [(m.seq, m.body) for m in got] == [(2, "old 1"), (3, "old 2"), (4, "live")]
        assert stream.last_event_id == "4"


async def test_the_sse_reader_authenticates_with_single_use_tickets(
    api: Api, tokens_for: TokensFor
) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    await api.post(asha, room, "first")
    async with (
        ParleyClient(api.ws_url, tokens_for(asha)) as client,
        client.sse(f"/api/v1/rooms/{room}/events", since=0, ticket=True) as stream,
    ):
        (got,) = await take(aiter(stream), 1)
        assert got.body == "first"


async def test_the_sse_reader_resumes_with_last_event_id_after_a_server_restart(
    db: AsyncEngine, settings: Settings
) -> None:
    port = free_port()
    first = InProcessServer(settings, port)
    other = InProcessServer(settings, free_port())  # posts while the first one is down
    await first.start()
    await other.start()
    try:
        async with httpx.AsyncClient(base_url=other.url, timeout=10) as http:
            api = Api(http, other.ws_url)
            asha = await api.user("Asha")
            room = await api.room(asha)
            url = f"{first.url}/api/v1/rooms/{room}/events"
            fast = Backoff(base=0.2, cap=1)
            async with SseStream(url, asha.token, backoff=fast) as stream:
                events = aiter(stream)
                assert isinstance(await anext(events), PresenceEvent)
                for i in range(1, 4):
                    await api.post(asha, room, f"m{i}")
                before = await take(events, 3)

                await first.stop()  # ends the stream from the server side
                for i in range(4, 7):
                    await api.post(asha, room, f"m{i}")
                first = InProcessServer(settings, port)
                await first.start()
                # Reading resumes the stream: it reopens with `Last-Event-ID: 3`.
                resuming = asyncio.create_task(take(events, 4, within=30))
                await until(lambda: stream.opens == 2, within=30)
                await api.post(asha, room, "m7")
                after = await resuming

            seen = before + after
            assert [m.body for m in seen] == [f"m{i}" for i in range(1, 8)]
            assert [m.seq for m in seen] == list(range(1, 8))
    finally:
        await first.stop()
        await other.stop()
