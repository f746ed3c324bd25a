"""The short-lived key contract, on every broker: single use, expiry, atomic claims."""

from __future__ import annotations

import asyncio
import time

from broker import Broker
from tests.broker.contract import eventually, unique

# --- short-lived keys ------------------------------------------------------------------------


async def test_a_key_can_be_taken_once(broker: Broker) -> None:
    key = unique("ticket")
    assert await broker.has_key(key) is False
    assert await broker.take_key(key) is None
    await broker.set_key(key, "user 7 ✓", 30)
    assert await broker.has_key(key) is True
    assert await broker.take_key(key) == "user 7 ✓"
    assert await broker.take_key(key) is None
    assert await broker.has_key(key) is False


async def test_concurrent_takes_of_one_key_succeed_once(broker: Broker) -> None:
    key = unique("ticket")
    await broker.set_key(key, "7", 30)
    taken = await asyncio.gather(*(broker.take_key(key) for _ in range(5)))
    assert sorted(taken, key=str) == ["7", None, None, None, None]


async def test_a_key_expires(broker: Broker) -> None:
    key = unique("ticket")
    await broker.set_key(key, "7", 0.2)
    started = time.monotonic()
    assert await broker.has_key(key) is True

    async def gone() -> bool:
        return not await broker.has_key(key)

    await eventually(gone)
    assert time.monotonic() - started < 5
    assert await broker.take_key(key) is None


async def test_setting_a_key_again_replaces_its_value(broker: Broker) -> None:
    key = unique("ticket")
    await broker.set_key(key, "first", 30)
    await broker.set_key(key, "second", 30)
    assert await broker.take_key(key) == "second"


async def test_set_keys_sets_and_renews_many_keys_at_once(broker: Broker) -> None:
    renewed, fresh = unique("lease"), unique("lease")
    await broker.set_key(renewed, "old", 0.3)
    await broker.set_keys([renewed, fresh], "node-a", 30)
    assert await broker.take_key(fresh) == "node-a"
    await asyncio.sleep(0.5)  # past the old expiry: what is under test is that it moved
    assert await broker.take_key(renewed) == "node-a"
    await broker.set_keys([], "node-a", 30)  # nothing to renew is not an error


async def test_claim_key_succeeds_once_until_the_key_expires(broker: Broker) -> None:
    key = unique("revoked")
    claims = await asyncio.gather(*(broker.claim_key(key, "1", 0.3) for _ in range(4)))
    assert sorted(claims) == [False, False, False, True]
    assert await broker.has_key(key) is True

    async def gone() -> bool:
        return not await broker.has_key(key)

    await eventually(gone)
    assert await broker.claim_key(key, "1", 30) is True


async def test_claim_keys_claims_each_free_key_in_order_in_one_call(broker: Broker) -> None:
    held, free, other = unique("claim"), unique("claim"), unique("claim")
    assert await broker.claim_key(held, "node-a", 30) is True
    assert await broker.claim_keys([held, free, other], "node-b", 30) == [False, True, True]
    assert await broker.take_key(held) == "node-a"  # a held claim keeps its holder
    assert await broker.take_key(free) == "node-b"
    assert await broker.claim_keys([], "node-b", 30) == []


async def test_concurrent_claim_keys_give_each_key_to_one_caller(broker: Broker) -> None:
    keys = [unique("claim") for _ in range(3)]
    results = await asyncio.gather(*(broker.claim_keys(keys, "1", 30) for _ in range(4)))
    for column in zip(*results, strict=True):
        assert sorted(column) == [False, False, False, True]


# --- counters --------------------------------------------------------------------------------


async def test_a_counter_counts_up_from_one(broker: Broker) -> None:
    key = unique("quota")
    assert [await broker.count_key(key, 30) for _ in range(3)] == [1, 2, 3]


async def test_concurrent_counts_are_each_counted_once(broker: Broker) -> None:
    key = unique("quota")
    counts = await asyncio.gather(*(broker.count_key(key, 30) for _ in range(25)))
    assert sorted(counts) == list(range(1, 26))


async def test_a_counters_window_starts_at_its_first_count_and_then_it_restarts(
    broker: Broker,
) -> None:
    key = unique("quota")
    assert await broker.count_key(key, 0.3) == 1
    assert await broker.count_key(key, 30) == 2  # a later count does not extend the window

    async def restarted() -> bool:
        return await broker.has_key(key) is False

    await eventually(restarted)
    assert await broker.count_key(key, 30) == 1
