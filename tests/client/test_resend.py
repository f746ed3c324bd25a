"""Sends in flight when the connection drops are resent with the same client id after the
client reconnects, and stored once (PROTOCOL.md "Sending"; docs/protocol.md §9, §12)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from client import Backoff, ParleyClient
from tests.client.conftest import TokensFor, messages, until
from tests.client.proxy import TcpProxy
from tests.servers import InProcessServer
from tests.support import Api, User


@pytest.fixture
async def proxy(server: InProcessServer) -> AsyncIterator[TcpProxy]:
    p = TcpProxy(server.port)
    await p.start()
    yield p
    await p.stop()


async def history(api: Api, user: User, room: int) -> list[dict[str, object]]:
    r = await api.http.get(f"/api/v1/rooms/{room}/messages", headers=user.headers)
    items: list[dict[str, object]] = r.json()["items"]
    return items


async def test_unacked_sends_are_resent_after_a_reconnect_and_stored_once(
    api: Api, tokens_for: TokensFor, proxy: TcpProxy
) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    channel = f"room:{room}"
    async with ParleyClient(
        proxy.ws_url, tokens_for(asha), backoff=Backoff(base=0.1, cap=1)
    ) as client:
        sub = await client.subscribe(channel)
        proxy.hold()  # the server gets the sends; its acks and events get stuck
        sending = [asyncio.create_task(client.send(channel, f"m{i}")) for i in range(5)]

        async def stored_all() -> bool:
            return len(await history(api, asha, room)) == 5

        await until(stored_all)
        assert not any(task.done() for task in sending)

        proxy.cut()  # the connection is lost with all five acks
        acks = await asyncio.wait_for(asyncio.gather(*sending), 20)

        assert client.stats.connects == 2
        assert client.stats.resent == 5
        assert [ack.seq for ack in acks] == [1, 2, 3, 4, 5]  # the first seqs, not new ones
        stored = await history(api, asha, room)
        assert [m["client_id"] for m in stored] == [ack.client_id for ack in acks]
        # The events that were stuck in the proxy come again by replay, each once.
        got = await messages(sub, 5)
        assert [m.body for m in got] == [f"m{i}" for i in range(5)]
        assert (await client.send(channel, "after")).seq == 6
        (after,) = await messages(sub, 1)
        assert after.seq == 6


async def test_a_send_made_while_disconnected_goes_out_after_the_reconnect(
    api: Api, tokens_for: TokensFor, proxy: TcpProxy
) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    channel = f"room:{room}"
    async with ParleyClient(
        proxy.ws_url, tokens_for(asha), backoff=Backoff(base=0.1, cap=1)
    ) as client:
        await client.send(channel, "before")
        proxy.cut()
        ack = await asyncio.wait_for(client.send(channel, "during"), 20)
        assert ack.seq == 2
        assert client.stats.connects == 2
