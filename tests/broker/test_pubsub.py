"""The pub/sub contract (with the durable history), on every broker; then what only a
shared, restartable Redis can show: fan-out between workers and recovery after a restart.
"""

from __future__ import annotations

import asyncio

import pytest

from broker import Broker
from broker.redis import RedisBroker
from tests.backing import Backing
from tests.broker.contract import ASHA_LAPTOP, ASHA_PHONE, HISTORY_CAP, attach, fence, unique
from tests.servers import RedisProcess, free_port

# --- pub/sub ---------------------------------------------------------------------------------


async def test_a_subscriber_receives_the_channel_name_and_the_exact_bytes(broker: Broker) -> None:
    inbox = attach(broker)
    channel = unique("room:1")
    payload = b'{"o":"n"}\n\x00\xff binary \r\n and "quotes"'
    await broker.subscribe(channel)
    await broker.publish(channel, payload)
    await inbox.until(lambda: len(inbox.received) == 1)
    assert inbox.received == [(channel, payload)]


async def test_durable_publishes_are_delivered_too_in_publish_order(broker: Broker) -> None:
    inbox = attach(broker)
    channel = unique("room:2")
    await broker.subscribe(channel)
    for seq in range(1, 4):
        await broker.publish(channel, f"event {seq}".encode(), seq=seq)
    await inbox.until(lambda: len(inbox.of(channel)) == 3)
    assert inbox.of(channel) == [b"event 1", b"event 2", b"event 3"]


async def test_a_batch_of_durable_events_is_delivered_in_order_and_kept(broker: Broker) -> None:
    inbox = attach(broker)
    channel = unique("room:batch")
    await broker.subscribe(channel)
    await broker.publish_durable(channel, [(seq, f"event {seq}".encode()) for seq in (1, 2, 3)])
    await broker.publish_durable(channel, [])  # nothing to do, nothing sent
    await inbox.until(lambda: len(inbox.of(channel)) == 3)
    assert inbox.of(channel) == [b"event 1", b"event 2", b"event 3"]
    assert await broker.history(channel, 0, 3) == [b"event 1", b"event 2", b"event 3"]


async def test_only_subscribed_channels_are_delivered(broker: Broker) -> None:
    inbox = attach(broker)
    channel, other = unique("room:3"), unique("room:4")
    await broker.subscribe(channel)
    await broker.publish(other, b"not for us")
    await fence(broker, inbox, channel)
    assert inbox.of(other) == []


async def test_nothing_is_delivered_after_unsubscribe(broker: Broker) -> None:
    inbox = attach(broker)
    channel, marker = unique("room:5"), unique("fence")
    await broker.subscribe(marker)
    await broker.subscribe(channel)
    await broker.publish(channel, b"before")
    await inbox.until(lambda: inbox.of(channel) == [b"before"])
    await broker.unsubscribe(channel)
    await broker.publish(channel, b"after")
    await fence(broker, inbox, marker)
    assert inbox.of(channel) == [b"before"]


async def test_subscriptions_are_reference_counted(broker: Broker) -> None:
    inbox = attach(broker)
    channel, marker = unique("room:6"), unique("fence")
    await broker.subscribe(marker)
    await broker.subscribe(channel)
    await broker.subscribe(channel)
    await broker.unsubscribe(channel)  # one subscriber left: still delivered, once
    await broker.publish(channel, b"still here")
    await fence(broker, inbox, marker)
    assert inbox.of(channel) == [b"still here"]
    await broker.unsubscribe(channel)  # the last one: no longer delivered
    await broker.publish(channel, b"gone")
    await fence(broker, inbox, marker)
    assert inbox.of(channel) == [b"still here"]


# --- history ---------------------------------------------------------------------------------


async def test_ephemeral_events_are_not_kept_in_history(broker: Broker) -> None:
    channel = unique("room:10")
    await broker.publish(channel, b"typing")
    assert await broker.history(channel, 0, 1) is None
    await broker.publish(channel, b"durable 1", seq=1)
    await broker.publish(channel, b"typing again")
    assert await broker.history(channel, 0, 1) == [b"durable 1"]
    assert await broker.history(channel, 0, 2) is None


async def test_durable_events_are_kept_and_returned_in_seq_order(broker: Broker) -> None:
    channel = unique("room:11")
    for seq in (1, 2, 3):
        await broker.publish(channel, f"d{seq}".encode(), seq=seq)
    assert await broker.history(channel, 0, 3) == [b"d1", b"d2", b"d3"]
    assert await broker.history(channel, 1, 3) == [b"d2", b"d3"]
    assert await broker.history(channel, 1, 2) == [b"d2"]
    assert await broker.history(channel, 3, 3) == []
    assert await broker.history(channel, 0, 4) is None  # seq 4 was never published


async def test_history_is_returned_in_seq_order_even_when_published_out_of_order(
    broker: Broker,
) -> None:
    channel = unique("room:12")
    for seq in (2, 3, 1):
        await broker.publish(channel, f"d{seq}".encode(), seq=seq)
    assert await broker.history(channel, 0, 3) == [b"d1", b"d2", b"d3"]


async def test_history_with_a_hole_is_incomplete(broker: Broker) -> None:
    channel = unique("room:13")
    for seq in (1, 2, 4):
        await broker.publish(channel, f"d{seq}".encode(), seq=seq)
    assert await broker.history(channel, 0, 4) is None
    assert await broker.history(channel, 1, 4) is None
    assert await broker.history(channel, 0, 2) == [b"d1", b"d2"]
    assert await broker.history(channel, 3, 4) == [b"d4"]


async def test_history_keeps_only_the_newest_events_up_to_the_cap(broker: Broker) -> None:
    channel = unique("room:14")
    for seq in range(1, 9):
        await broker.publish(channel, f"d{seq}".encode(), seq=seq)
    assert await broker.history(channel, 3, 8) == [b"d4", b"d5", b"d6", b"d7", b"d8"]
    assert await broker.history(channel, 2, 8) is None  # seq 3 fell off the cap of 5
    assert await broker.history(channel, 0, 1) is None


async def test_republishing_a_seq_replaces_it(broker: Broker) -> None:
    inbox = attach(broker)
    channel = unique("room:15")
    await broker.subscribe(channel)
    await broker.publish(channel, b"d1", seq=1)
    await broker.publish(channel, b"d2 first", seq=2)
    await broker.publish(channel, b"d2 again", seq=2)
    await broker.publish(channel, b"d2 again", seq=2)
    assert await broker.history(channel, 0, 2) == [b"d1", b"d2 again"]
    assert await broker.history(channel, 1, 2) == [b"d2 again"]
    # Replacing is about history; every publish is still fanned out (subscribers de-dupe).
    await inbox.until(lambda: len(inbox.of(channel)) == 4)


async def test_republished_seqs_do_not_push_others_out_of_the_capped_history(
    broker: Broker,
) -> None:
    channel = unique("room:16")
    for seq in range(1, 6):
        await broker.publish(channel, f"d{seq}".encode(), seq=seq)
    for _ in range(3):
        await broker.publish(channel, b"d5 retried", seq=5)
    assert await broker.history(channel, 0, 5) == [b"d1", b"d2", b"d3", b"d4", b"d5 retried"]


# --- Redis only: several workers, and a Redis restart ------------------------------------------


async def test_two_workers_sharing_a_prefix_both_receive_each_others_publishes(
    backing: Backing, redis_prefix: str
) -> None:
    prefix = f"{redis_prefix}-{unique('workers')}"
    one = RedisBroker(backing.redis_url, "worker-1", prefix=prefix, history_cap=HISTORY_CAP)
    two = RedisBroker(backing.redis_url, "worker-2", prefix=prefix, history_cap=HISTORY_CAP)
    inbox_one, inbox_two = attach(one), attach(two)
    await one.start()
    await two.start()
    try:
        channel = "room:42"
        await one.subscribe(channel)
        await two.subscribe(channel)
        await one.publish(channel, b"from one")
        await two.publish(channel, b"from two", seq=1)
        await inbox_one.until(lambda: len(inbox_one.of(channel)) == 2)
        await inbox_two.until(lambda: len(inbox_two.of(channel)) == 2)
        assert inbox_one.of(channel) == inbox_two.of(channel) == [b"from one", b"from two"]
        # History and presence are shared too.
        assert await one.history(channel, 0, 1) == [b"from two"]
        assert await two.presence_add(channel, ASHA_PHONE, 30) is True
        assert await one.presence_add(channel, ASHA_LAPTOP, 30) is False
    finally:
        await one.close()
        await two.close()


async def test_workers_with_different_prefixes_do_not_see_each_other(
    backing: Backing, redis_prefix: str
) -> None:
    mine = RedisBroker(backing.redis_url, "w1", prefix=f"{redis_prefix}-{unique('mine')}")
    theirs = RedisBroker(backing.redis_url, "w2", prefix=f"{redis_prefix}-{unique('theirs')}")
    inbox = attach(mine)
    await mine.start()
    await theirs.start()
    try:
        marker = unique("fence")
        await mine.subscribe("room:1")
        await mine.subscribe(marker)
        await theirs.publish("room:1", b"other deployment", seq=1)
        await fence(mine, inbox, marker)
        assert inbox.of("room:1") == []
        assert await mine.history("room:1", 0, 1) is None
    finally:
        await mine.close()
        await theirs.close()


async def test_a_batch_reaches_a_fresh_redis_that_has_no_scripts_loaded(
    private_redis: RedisProcess,
) -> None:
    """The pipelined batch runs the script by its hash; a Redis that never saw it (fresh,
    restarted) refuses that, and the batch is published by the path that loads it."""
    broker = RedisBroker(private_redis.url, "node-a", prefix=unique("noscript"))
    inbox = attach(broker)
    await broker.start()
    try:
        await broker.subscribe("room:1")
        await broker.publish_durable("room:1", [(1, b"one"), (2, b"two")])
        await inbox.until(lambda: inbox.of("room:1") == [b"one", b"two"])
        assert await broker.history("room:1", 0, 2) == [b"one", b"two"]
    finally:
        await broker.close()


async def test_subscriptions_survive_a_redis_restart_and_the_reconnect_hook_runs(
    private_redis: RedisProcess,
) -> None:
    prefix = unique("restart")
    worker = RedisBroker(private_redis.url, "worker", prefix=prefix)
    inbox = attach(worker)
    await worker.start()
    try:
        await worker.subscribe("room:1")
        await worker.subscribe("room:2")
        await worker.publish("room:1", b"before")
        await inbox.until(lambda: inbox.of("room:1") == [b"before"])
        assert inbox.reconnects == 0

        private_redis.kill()
        private_redis.start()  # same port: a restart, not a failover
        await inbox.until(lambda: inbox.reconnects >= 1, within=30)

        fresh = RedisBroker(private_redis.url, "other-worker", prefix=prefix)
        try:
            await fresh.publish("room:1", b"after restart")
            await fresh.publish("room:2", b"after restart", seq=1)
        finally:
            await fresh.close()
        await inbox.until(lambda: inbox.of("room:1") == [b"before", b"after restart"])
        await inbox.until(lambda: inbox.of("room:2") == [b"after restart"])
        assert inbox.reconnects == 1
    finally:
        await worker.close()


async def test_the_workers_own_commands_work_again_once_redis_is_back(
    private_redis: RedisProcess,
) -> None:
    """A Redis restart is not an outage for callers once Redis is back: no command fails.

    The worker used its command connection before the restart; the first commands after it
    must reconnect transparently instead of failing on the dead pooled connection.
    """
    worker = RedisBroker(private_redis.url, "worker", prefix=unique("restart"))
    inbox = attach(worker)
    await worker.start()
    try:
        await worker.subscribe("room:1")
        await worker.set_key("warm", "1", 30)  # the command connection is in use
        private_redis.kill()
        private_redis.start()
        await inbox.until(lambda: inbox.reconnects >= 1, within=30)

        await worker.publish("room:1", b"after restart", seq=1)
        assert await worker.presence_add("room:1", ASHA_PHONE, 30) is True
        await worker.set_key("ticket", "7", 30)
        assert await worker.take_key("ticket") == "7"
        await inbox.until(lambda: inbox.of("room:1") == [b"after restart"])
        assert await worker.history("room:1", 0, 1) == [b"after restart"]
    finally:
        await worker.close()


async def test_a_concurrent_subscriber_is_not_told_it_is_subscribed_when_it_is_not() -> None:
    """`subscribe` returns only once the subscription is confirmed, for EVERY caller.

    Redis is unreachable, so the first caller's subscription cannot be confirmed; a second
    caller for the same channel, arriving while the first is in flight, must not return as
    if it were subscribed (it would silently receive nothing).
    """
    worker = RedisBroker(f"redis://127.0.0.1:{free_port()}/0", "worker", prefix=unique("down"))
    await worker.start()
    try:
        first = asyncio.create_task(worker.subscribe("room:1"))
        await asyncio.sleep(0)  # the first caller starts and waits for the connection
        with pytest.raises(ConnectionError):
            await worker.subscribe("room:1")
        with pytest.raises(ConnectionError):
            await first
    finally:
        await worker.close()
