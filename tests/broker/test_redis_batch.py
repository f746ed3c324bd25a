"""Batched bot deltas on Redis (broker/redis_batch.py): what the stream contract
(test_streams.py) cannot see from outside."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from broker import redis_lua
from broker.redis import RedisBroker
from broker.redis_batch import Args, DeltaBatcher
from tests.backing import Backing
from tests.broker.contract import unique


@pytest.fixture
async def redis_broker(backing: Backing, redis_prefix: str) -> AsyncIterator[RedisBroker]:
    b = RedisBroker(backing.redis_url, "node-a", prefix=f"{redis_prefix}-{unique('batch')}")
    await b.start()
    try:
        yield b
    finally:
        await b.close()


def _args(b: RedisBroker, key: str, data: bytes) -> Args:
    return (b._key("stream", key), b._key("kv", unique("flag")), b._wire("room:1"), data, 10, 30000)


async def test_one_loop_turns_deltas_share_one_round_trip(redis_broker: RedisBroker) -> None:
    # Loaded first: on a Redis that has not seen the script yet (a fresh server), the
    # NOSCRIPT resend would be a second round trip, which another test is about.
    await redis_broker._redis.script_load(redis_lua.STREAM_PUBLISH)
    batcher = DeltaBatcher(redis_broker._redis)
    sizes: list[int] = []
    real = batcher._round_trip

    async def counted(batch: Sequence[Args]) -> list[Any]:
        sizes.append(len(batch))
        return await real(batch)

    batcher._round_trip = counted  # type: ignore[method-assign]
    keys = [unique("answer") for _ in range(30)]
    await asyncio.gather(*(batcher.publish(_args(redis_broker, k, b"d")) for k in keys))
    assert sizes == [30]
    # A lone delta goes out on its own, at once.
    await batcher.publish(_args(redis_broker, keys[0], b"e"))
    assert sizes == [30, 1]
    assert [d for _, d in await redis_broker.stream_read(keys[0])] == [b"d", b"e"]


async def test_a_script_redis_does_not_know_is_loaded_and_every_delta_runs_once(
    redis_broker: RedisBroker,
) -> None:
    # A script text no Redis has seen: the first batch gets NOSCRIPT for every delta, as
    # after a Redis restart; each must run exactly once after the script is loaded.
    script = redis_lua.STREAM_PUBLISH + f"-- {secrets.token_hex(8)}\n"
    batcher = DeltaBatcher(redis_broker._redis, script)
    keys = [unique("answer") for _ in range(5)]
    flags = await asyncio.gather(
        *(batcher.publish(_args(redis_broker, k, b"only once")) for k in keys)
    )
    assert flags == [False] * 5
    for key in keys:
        assert [d for _, d in await redis_broker.stream_read(key)] == [b"only once"]


async def test_an_error_reply_fails_only_its_own_delta(redis_broker: RedisBroker) -> None:
    batcher = DeltaBatcher(redis_broker._redis)
    good, bad = unique("answer"), unique("answer")
    await redis_broker._redis.set(redis_broker._key("stream", bad), "not a stream")
    results = await asyncio.gather(
        batcher.publish(_args(redis_broker, good, b"ok")),
        batcher.publish(_args(redis_broker, bad, b"wrong type")),
        return_exceptions=True,
    )
    assert results[0] is False
    assert isinstance(results[1], Exception) and "WRONGTYPE" in str(results[1])
    assert [d for _, d in await redis_broker.stream_read(good)] == [b"ok"]
