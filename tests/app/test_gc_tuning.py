"""A started worker runs with its startup heap frozen and a raised gen0 threshold
(docs/decisions/0037-gc-tuning.md), and both are settings an operator can turn off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.backing import Backing

# Starts the real app's lifespan (real PostgreSQL and Redis) in a process of its own, so the
# collector observed is a worker's, not pytest's, and reports what the worker runs with.
_PROBE = """
import asyncio, gc, json
from app.main import create_app

async def main() -> None:
    default = gc.get_threshold()[0]
    app = create_app()
    async with app.router.lifespan_context(app):
        print(json.dumps({
            "default": default,
            "threshold": gc.get_threshold()[0],
            "frozen": gc.get_freeze_count(),
        }))

asyncio.run(main())
"""


def _started_worker_gc(
    backing: Backing, redis_prefix: str, tmp_path: Path, **env: str
) -> dict[str, int]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PARLEY_") and name not in ("DATABASE_URL", "REDIS_URL")
    }
    environment.update(
        DATABASE_URL=backing.database_url,
        REDIS_URL=backing.redis_url,
        PARLEY_ENV="test",
        PARLEY_REDIS_PREFIX=redis_prefix,
        PARLEY_SECRET_KEY="test-secret-" + "x" * 40,
        PARLEY_DATA_DIR=str(tmp_path),
        PARLEY_LOG_LEVEL="WARNING",
        **env,
    )
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_started_worker_freezes_its_startup_heap_and_collects_young_objects_less_often(
    db: AsyncEngine, backing: Backing, redis_prefix: str, tmp_path: Path
) -> None:
    seen = _started_worker_gc(backing, redis_prefix, tmp_path)

    assert seen["threshold"] == 10_000, seen
    # The app, its models and its compiled patterns: far more than a bare interpreter.
    assert seen["frozen"] > 50_000, seen


def test_both_can_be_turned_off(
    db: AsyncEngine, backing: Backing, redis_prefix: str, tmp_path: Path
) -> None:
    seen = _started_worker_gc(
        backing,
        redis_prefix,
        tmp_path,
        PARLEY_GC_FREEZE="false",
        PARLEY_GC_GEN0_THRESHOLD="0",
    )

    assert seen["threshold"] == seen["default"]
    assert seen["frozen"] == 0


def test_a_threshold_of_its_own_is_used(
    db: AsyncEngine, backing: Backing, redis_prefix: str, tmp_path: Path
) -> None:
    seen = _started_worker_gc(backing, redis_prefix, tmp_path, PARLEY_GC_GEN0_THRESHOLD="2500")

    assert seen["threshold"] == 2500
