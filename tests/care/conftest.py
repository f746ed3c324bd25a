"""Fixtures for the consultation tests: a two-worker cluster with a quick offline bot."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.backing import Backing
from tests.realtime.test_cluster import Cluster, cluster_settings, running
from tests.support import Api


@pytest.fixture(scope="module")
async def care_cluster(
    schema: object, backing: Backing, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    """Two real worker processes on one Redis, shared by the tests of one module."""
    settings = cluster_settings(
        backing, redis_prefix, tmp_path_factory.mktemp("care"), bot_offline_pace_ms=(5, 10)
    )
    async with running(settings) as c:
        yield c


@pytest.fixture
async def apis(care_cluster: Cluster) -> AsyncIterator[tuple[Api, Api]]:
    """A client of each worker."""
    async with care_cluster.apis() as pair:
        yield pair
