"""The stream contract (in-flight LLM answers, replayable while they last), on every broker."""

from __future__ import annotations

import asyncio

from broker import Broker
from tests.broker.contract import attach, eventually, unique


async def test_entries_are_read_back_in_append_order_with_increasing_ids(broker: Broker) -> None:
    key = unique("answer")
    ids = [
        await broker.stream_append(key, f"delta {i}".encode(), maxlen=100, ttl=30) for i in range(5)
    ]
    entries = await broker.stream_read(key)
    assert [data for _, data in entries] == [f"delta {i}".encode() for i in range(5)]
    assert [entry_id for entry_id, _ in entries] == ids
    assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split("-")))


async def test_reading_after_an_id_resumes_exactly_after_it(broker: Broker) -> None:
    key = unique("answer")
    ids = [await broker.stream_append(key, bytes([i]), maxlen=100, ttl=30) for i in range(6)]
    assert [d for _, d in await broker.stream_read(key, after=ids[2])] == [
        b"\x03",
        b"\x04",
        b"\x05",
    ]
    assert await broker.stream_read(key, after=ids[-1]) == []
    assert [d for _, d in await broker.stream_read(key, after=ids[0], count=2)] == [
        b"\x01",
        b"\x02",
    ]


async def test_bytes_come_back_exactly(broker: Broker) -> None:
    key = unique("answer")
    payload = b'{"text": "\xe2\x80\x9cchest\xe2\x80\x9d"}\x00\xff\r\n'
    await broker.stream_append(key, payload, maxlen=10, ttl=30)
    assert [d for _, d in await broker.stream_read(key)] == [payload]


async def test_a_stream_keeps_only_its_newest_entries_up_to_maxlen(broker: Broker) -> None:
    key = unique("answer")
    for i in range(10):
        await broker.stream_append(key, bytes([i]), maxlen=3, ttl=30)
    assert [d for _, d in await broker.stream_read(key)] == [b"\x07", b"\x08", b"\x09"]


async def test_a_stream_expires_after_its_last_append(broker: Broker) -> None:
    key = unique("answer")
    await broker.stream_append(key, b"partial", maxlen=10, ttl=0.3)

    async def expired() -> bool:
        return await broker.stream_read(key) == []

    await eventually(expired)


async def test_a_deleted_or_unknown_stream_reads_empty(broker: Broker) -> None:
    key = unique("answer")
    assert await broker.stream_read(key) == []
    await broker.stream_append(key, b"x", maxlen=10, ttl=30)
    await broker.stream_delete(key)
    assert await broker.stream_read(key) == []


async def test_stream_publish_appends_then_publishes_and_reads_the_flag(broker: Broker) -> None:
    inbox = attach(broker)
    key, channel, flag = unique("answer"), unique("room:1"), unique("cancel")
    await broker.subscribe(channel)
    stopped = await broker.stream_publish(key, channel, b"delta 0", maxlen=10, ttl=30, flag=flag)
    assert stopped is False
    # Delivered on the channel, and kept in the stream for a subscriber that comes later.
    await inbox.until(lambda: len(inbox.received) == 1)
    assert inbox.received == [(channel, b"delta 0")]
    assert [d for _, d in await broker.stream_read(key)] == [b"delta 0"]
    await broker.set_key(flag, "cancel", 30)
    assert await broker.stream_publish(key, channel, b"delta 1", maxlen=10, ttl=30, flag=flag)
    assert [d for _, d in await broker.stream_read(key)] == [b"delta 0", b"delta 1"]


async def test_concurrent_answers_each_get_their_own_deltas_in_order_and_flag(
    broker: Broker,
) -> None:
    # The Redis broker sends one loop turn's deltas of every answer together
    # (broker/redis_batch.py): each answer must still get its own flag and its own order.
    inbox = attach(broker)
    answers = [(unique("answer"), unique("room:1"), unique("cancel")) for _ in range(20)]
    for _, channel, _ in answers:
        await broker.subscribe(channel)
    for _, _, flag in answers[::2]:
        await broker.set_key(flag, "cancel", 30)

    async def stream(key: str, channel: str, flag: str) -> list[bool]:
        return [
            await broker.stream_publish(key, channel, b"%d" % i, maxlen=10, ttl=30, flag=flag)
            for i in range(5)
        ]

    flags = await asyncio.gather(*(stream(*a) for a in answers))
    assert flags == [[n % 2 == 0] * 5 for n in range(20)]
    await inbox.until(lambda: len(inbox.received) == 100)
    for key, channel, _ in answers:
        assert [d for c, d in inbox.received if c == channel] == [b"0", b"1", b"2", b"3", b"4"]
        assert [d for _, d in await broker.stream_read(key)] == [b"0", b"1", b"2", b"3", b"4"]
