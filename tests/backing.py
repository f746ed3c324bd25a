"""Which real PostgreSQL and Redis the suite uses.

CI (or TEST_DATABASE_URL / TEST_REDIS_URL): the machine's services. Otherwise: the embedded
ones, started once under var/test/. Never a mock of either.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app import embedded

ROOT = Path(__file__).resolve().parent.parent
CI_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
CI_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class Backing:
    database_url: str
    redis_url: str
    handle: embedded.Embedded | None = None

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()


def start_backing() -> Backing:
    use_machine = bool(os.environ.get("CI"))
    db = os.environ.get("TEST_DATABASE_URL") or (CI_DATABASE_URL if use_machine else None)
    redis = os.environ.get("TEST_REDIS_URL") or (CI_REDIS_URL if use_machine else None)
    handle = None
    if db is None or redis is None:
        handle = embedded.start(ROOT / "var" / "test", database=db is None, redis=redis is None)
        db = db or handle.database_url
        redis = redis or handle.redis_url
    assert db and redis
    return Backing(db, redis, handle)
