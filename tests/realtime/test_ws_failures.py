"""No silent failures on the real-time path (issue 6 item 3).

Whatever fails while a frame is handled, the frame's `ref` gets an `error` answer within a
bound: `unavailable` when a dependency failed, `internal` for a bug, which is logged once.
The autouse guard (tests/conftest.py) fails any of these tests whose server logged a
traceback or an unretrieved task exception it did not declare.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import pytest

from domain import chat
from tests.conftest import ApiFactory
from tests.servers import RedisProcess
from tests.support import Api


@pytest.fixture
async def api_on_private_redis(
    api_with: ApiFactory, private_redis: RedisProcess
) -> AsyncIterator[Api]:
    async with api_with(redis_url=private_redis.url, ws_rate_per_second=1000) as api:
        yield api


async def test_subscribe_while_redis_is_down_is_answered_unavailable_within_seconds(
    api_on_private_redis: Api, private_redis: RedisProcess
) -> None:
    api = api_on_private_redis
    asha = await api.user()
    room = await api.room(asha)
    ws = await api.ws(asha)
    private_redis.kill()

    started = time.monotonic()
    reply = await ws.request({"type": "subscribe", "channel": f"room:{room}"}, within=20)
    assert reply["type"] == "error" and reply["code"] == "unavailable", reply
    assert time.monotonic() - started < 15
    await ws.send({"type": "ping", "ref": "alive"})
    assert (await ws.expect("pong"))["ref"] == "alive"

    private_redis.start()
    subscribed = await ws.request({"type": "subscribe", "channel": f"room:{room}"}, within=20)
    assert subscribed["type"] == "subscribed", subscribed
    await ws.close()


async def test_subscribe_to_a_hung_redis_is_answered_unavailable_within_seconds(
    api_on_private_redis: Api, private_redis: RedisProcess
) -> None:
    api = api_on_private_redis
    asha = await api.user()
    rooms = [await api.room(asha, name=f"room {i}") for i in range(3)]
    ws = await api.ws(asha)
    private_redis.freeze()
    try:
        started = time.monotonic()
        for room in rooms:
            reply = await ws.request({"type": "subscribe", "channel": f"room:{room}"}, within=30)
            assert reply["type"] == "error" and reply["code"] == "unavailable", reply
        assert time.monotonic() - started < 3 * 13
    finally:
        private_redis.thaw()
    subscribed = await ws.request({"type": "subscribe", "channel": f"room:{rooms[0]}"}, within=30)
    assert subscribed["type"] == "subscribed", subscribed
    await ws.close()


async def test_every_frame_that_needs_redis_is_answered_unavailable_while_it_is_down(
    api_on_private_redis: Api, private_redis: RedisProcess
) -> None:
    api = api_on_private_redis
    asha = await api.user()
    room = await api.room(asha)
    ws = await api.ws(asha)
    await ws.subscribe(f"room:{room}")
    # `subscribed` goes out before the subscribe's last Redis reads (presence, an answer in
    # flight); a socket's frames are handled in order, so the pong says the subscribe is
    # complete. Killing Redis before it would undo the subscribe, not test `typing`.
    await ws.send({"type": "ping", "ref": "settled"})
    assert (await ws.expect("pong"))["ref"] == "settled"
    private_redis.kill()

    typing = await ws.request({"type": "typing", "channel": f"room:{room}"}, within=30)
    assert typing["type"] == "error" and typing["code"] == "unavailable", typing
    # Storing does not need Redis: a send is still acked (fan-out catches up later).
    ack = await ws.send_message(f"room:{room}", "stored while Redis is down")
    assert ack["type"] == "ack", ack
    await ws.close()


async def test_a_socket_authenticates_while_redis_is_down_and_its_subscribe_is_told_why(
    api_on_private_redis: Api, private_redis: RedisProcess
) -> None:
    # Tokens and revocations live in PostgreSQL (docs/decisions/0010): a Redis outage does
    # not lock people out, it only stops live delivery, and says so.
    api = api_on_private_redis
    asha = await api.user()
    room = await api.room(asha)
    private_redis.kill()
    ws = await api.ws(asha)
    assert ws.hello["type"] == "hello"
    reply = await ws.request({"type": "subscribe", "channel": f"room:{room}"}, within=30)
    assert reply["type"] == "error" and reply["code"] == "unavailable", reply
    await ws.close()


@pytest.mark.expect_log("frame handling failed")
async def test_a_bug_while_handling_a_frame_is_answered_internal_and_logged_once(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> int:
        raise ZeroDivisionError("a bug, not an outage")

    # Fault injection into the domain, not a mock of PostgreSQL or Redis: the frame goes
    # through the real server and its real error path.
    monkeypatch.setattr(chat, "mark_read", broken)
    asha = await api.user()
    room = await api.room(asha)
    ws = await api.ws(asha)
    with caplog.at_level(logging.ERROR, logger="parley"):
        # create_app (app/logs.py) replaced the root logger's handlers, caplog's included.
        logging.getLogger().addHandler(caplog.handler)
        reply = await ws.request({"type": "read", "channel": f"room:{room}", "seq": 0})
        await ws.send({"type": "ping", "ref": "after"})
        assert (await ws.expect("pong"))["ref"] == "after"
    assert reply["type"] == "error" and reply["code"] == "internal", reply
    assert "a bug" not in reply["message"]
    failures = [r for r in caplog.records if r.getMessage() == "frame handling failed"]
    assert len(failures) == 1
    record = failures[0]
    assert record.__dict__["frame"] == "read" and record.__dict__["error"] == "ZeroDivisionError"
    assert record.exc_info is not None
    await ws.close()
