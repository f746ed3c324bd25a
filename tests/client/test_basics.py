"""The client against one real server: connect, subscribe, send, acks, refusals."""

from __future__ import annotations

import asyncio

import pytest

from client import (
    ErrorCode,
    JoinEvent,
    MessageEvent,
    ParleyClient,
    PresenceEvent,
    ProtocolError,
    TypingEvent,
)
from tests.client.conftest import TokensFor, messages
from tests.support import Api


async def test_a_send_is_acked_with_its_seq_and_reaches_another_client(
    api: Api, tokens_for: TokensFor
) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    channel = f"room:{room}"
    async with (
        ParleyClient(api.ws_url, tokens_for(asha)) as a,
        ParleyClient(api.ws_url, tokens_for(ravi)) as b,
    ):
        assert a.hello is not None and a.hello.user.name == "Asha"
        sub_b = await b.subscribe(channel)
        assert isinstance(await sub_b.next(within=5), PresenceEvent)

        ack = await a.send(channel, "hello Ravi", client_id="c-1")

        assert (ack.channel, ack.seq, ack.client_id) == (channel, 1, "c-1")
        (seen,) = await messages(sub_b, 1)
        assert (seen.seq, seen.body, seen.client_id) == (1, "hello Ravi", "c-1")
        assert seen.author.id == asha.id


async def test_several_sends_in_flight_are_all_acked_with_increasing_seqs(
    api: Api, tokens_for: TokensFor
) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    channel = f"room:{room}"
    async with ParleyClient(api.ws_url, tokens_for(asha)) as a:
        sub = await a.subscribe(channel)
        acks = await asyncio.gather(*(a.send(channel, f"m{i}") for i in range(20)))

        # One connection's frames are handled in order, so seqs follow the send order.
        assert [ack.seq for ack in acks] == list(range(1, 21))
        assert len({ack.client_id for ack in acks}) == 20
        got = await messages(sub, 20)
        assert [m.body for m in got] == [f"m{i}" for i in range(20)]
        assert a.in_flight == 0


async def test_a_repeated_client_id_is_acked_with_the_first_seq_and_stored_once(
    api: Api, tokens_for: TokensFor
) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    channel = f"room:{room}"
    async with ParleyClient(api.ws_url, tokens_for(asha)) as a:
        first = await a.send(channel, "once", client_id="same")
        await a.send(channel, "other")
        again = await a.send(channel, "once", client_id="same")

    assert first.seq == again.seq == 1
    history = (await api.http.get(f"/api/v1/rooms/{room}/messages", headers=asha.headers)).json()
    assert [m["client_id"] for m in history["items"]].count("same") == 1


async def test_subscribe_with_since_replays_then_continues_live(
    api: Api, tokens_for: TokensFor
) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    for i in range(5):
        await api.post(asha, room, f"old {i}")
    async with ParleyClient(api.ws_url, tokens_for(asha)) as a:
        sub = await a.subscribe(f"room:{room}", since=2)
        await api.post(asha, room, "new")
        got = await messages(sub, 4)
    assert [(m.seq, m.body) for m in got] == [
        (3, "old 2"),
        (4, "old 3"),
        (5, "old 4"),
        (6, "new"),
    ]


async def test_refusals_raise_typed_errors_and_leave_the_client_usable(
    api: Api, tokens_for: TokensFor
) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    theirs = await api.room(ravi)
    mine = await api.room(asha)
    async with ParleyClient(api.ws_url, tokens_for(asha)) as a:
        with pytest.raises(ProtocolError) as refused:
            await a.send(f"room:{theirs}", "let me in")
        assert refused.value.code == ErrorCode.forbidden and not refused.value.retryable
        with pytest.raises(ProtocolError) as missing:
            await a.subscribe("room:999999")
        assert missing.value.code == ErrorCode.not_found
        with pytest.raises(ProtocolError) as too_large:
            await a.send(f"room:{mine}", "x" * 4001)
        assert too_large.value.code == ErrorCode.too_large

        assert (await a.send(f"room:{mine}", "still fine")).seq == 1
        assert await a.ping() >= 0


async def test_ephemeral_events_pass_through_typed(api: Api, tokens_for: TokensFor) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    channel = f"room:{room}"
    async with (
        ParleyClient(api.ws_url, tokens_for(asha)) as a,
        ParleyClient(api.ws_url, tokens_for(ravi)) as b,
    ):
        sub_a = await a.subscribe(channel)
        presence = await sub_a.next(within=5)
        assert isinstance(presence, PresenceEvent)
        await b.subscribe(channel)
        assert await b.typing(channel)

        kinds: list[type] = []
        async with asyncio.timeout(10):
            async for event in sub_a:
                kinds.append(type(event))
                if isinstance(event, TypingEvent):
                    assert event.user.id == ravi.id
                    break
        assert JoinEvent in kinds


async def test_unsubscribe_ends_the_iteration(api: Api, tokens_for: TokensFor) -> None:
    asha = await api.user("Asha")
    room = await api.room(asha)
    async with ParleyClient(api.ws_url, tokens_for(asha)) as a:
        sub = await a.subscribe(f"room:{room}")
        await sub.unsubscribe()
        seen = [event async for event in sub]  # what was buffered, then the end
        assert all(not isinstance(e, MessageEvent) for e in seen)
        again = await a.subscribe(f"room:{room}")  # the channel can be subscribed anew
        assert again.last is not None and again.last.head == 0
