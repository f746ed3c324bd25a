"""Tallies on Redis (broker/redis_stores.py): what the contract (test_tallies.py) cannot see
from outside: how many round trips an apply takes, and a Redis that lost its scripts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from broker import Tally
from broker.redis import RedisBroker
from tests.broker.contract import unique
from tests.servers import RedisProcess

SPAN, LIMIT = 10**6, 10**6


@pytest.fixture
async def own_redis(private_redis: RedisProcess) -> AsyncIterator[tuple[RedisBroker, redis.Redis]]:
    """A broker on a Redis of this test's own (scripts get flushed), and a plain client."""
    broker = RedisBroker(private_redis.url, "node-a", prefix=unique("tallies"))
    await broker.start()
    client = redis.Redis.from_url(private_redis.url)
    try:
        yield broker, client
    finally:
        await client.aclose()
        await broker.close()


async def calls_of(client: redis.Redis, command: str) -> int:
    """Calls of `command`, subcommands included (Redis 7 counts `script|exists` apart)."""
    stats = await client.info("commandstats")
    return sum(
        int(v["calls"])
        for k, v in stats.items()
        if k == f"cmdstat_{command}" or k.startswith(f"cmdstat_{command}|")
    )


async def test_applying_to_many_boards_is_one_pipelined_round_trip(
    own_redis: tuple[RedisBroker, redis.Redis],
) -> None:
    broker, client = own_redis
    boards = [unique("tally") for _ in range(3)]
    for key in boards:
        await broker.tally_replace(key, 0, SPAN, LIMIT, {})
    await broker.tally_apply_many(SPAN, LIMIT, {boards[0]: [Tally(1, "asha", 4, 9)]})  # warm

    before = {c: await calls_of(client, c) for c in ("evalsha", "script")}
    await broker.tally_apply_many(SPAN, LIMIT, {key: [Tally(2, "ravi", 4, 8)] for key in boards})
    after = {c: await calls_of(client, c) for c in before}

    # Three script calls, and no SCRIPT EXISTS (or LOAD) round trip before them.
    assert after["evalsha"] - before["evalsha"] == 3
    assert after["script"] == before["script"]


async def test_a_redis_that_lost_its_scripts_still_applies_each_change_once(
    own_redis: tuple[RedisBroker, redis.Redis],
) -> None:
    broker, client = own_redis
    key = unique("tally")
    await broker.tally_replace(key, 0, SPAN, LIMIT, {})
    await broker.tally_apply_many(SPAN, LIMIT, {key: [Tally(1, "asha", 4, 9, 1, 0)]})

    await client.script_flush()
    applied = await broker.tally_apply_many(
        SPAN, LIMIT, {key: [Tally(1, "asha", 4, 9, 1, 0), Tally(2, "ravi", -1, 8, 0, 1)]}
    )

    assert applied == {key: 0}
    assert await broker.tally_watermark(key) == 2
    [(first, _), (second, _)] = await broker.sorted_top(key, 0, 10)
    assert (first, second) == ("asha", "ravi")
    assert await broker.tally_counts(key, ["asha", "ravi"]) == {"asha": (1, 0), "ravi": (0, 1)}
