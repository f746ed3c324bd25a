"""Fixtures for the real-time tests: a two-worker cluster per test module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.backing import Backing
from tests.realtime.test_cluster import Cluster, cluster_settings, running
from tests.support import Api


@pytest.fixture(scope="module")
async def cluster(
    schema: object, backing: Backing, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    """Two real worker processes on one Redis, shared by the tests of one module."""
    settings = cluster_settings(backing, redis_prefix, tmp_path_factory.mktemp("cluster"))
    async with running(settings) as c:
        yield c


@pytest.fixture
async def apis(cluster: Cluster) -> AsyncIterator[tuple[Api, Api]]:
    """A client of each worker."""
    async with cluster.apis() as pair:
        yield pair
