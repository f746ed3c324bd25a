"""The seed leaves a session ready to run, and `parley demo quiz` plays one (not in prod)."""

from __future__ import annotations

import argparse

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app import cli
from app.demo import run_demo
from app.security import passwords
from app.settings import Environment, get_settings
from domain.seed import seed_database
from tests.backing import Backing
from tests.conftest import ApiFactory, make_settings
from tests.study.helpers import FAST


async def test_seed_and_demo_play_a_live_session(
    api_with: ApiFactory, db: AsyncEngine, backing: Backing, redis_prefix: str, tmp_path: object
) -> None:
    async with api_with(**FAST) as api:
        settings = make_settings(backing, redis_prefix, tmp_path, **FAST)  # type: ignore[arg-type]
        created = await seed_database(
            backing.database_url,
            passwords(settings),
            only_if_empty=True,
            reveal_seconds=settings.quiz_reveal_seconds,
        )
        assert created["session_id"] > 0
        sid = await run_demo(str(api.http.base_url), members=2, seconds=1)
        async with db.connect() as conn:
            phase = (
                await conn.execute(
                    text("SELECT phase FROM quiz_sessions WHERE id = :s"), {"s": sid}
                )
            ).scalar()
            answers = (
                await conn.execute(
                    text("SELECT count(*) FROM session_answers WHERE session_id = :s"), {"s": sid}
                )
            ).scalar()
        assert phase == "ended" and answers and answers > 0
        async with db.connect() as conn:
            bodies = (await conn.execute(text("SELECT body FROM messages"))).scalars().all()
        assert f'Live quiz started: session #{sid}. Open "Live quiz" to play.' in bodies


def test_the_demo_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_ENV", "production")
    monkeypatch.setenv("PARLEY_SECRET_KEY", "p" * 40)
    get_settings.cache_clear()
    try:
        assert get_settings().env is Environment.production
        with pytest.raises(RuntimeError, match="refused"):
            cli.cmd_demo(argparse.Namespace(url="http://127.0.0.1:9", members=1, seconds=10))
    finally:
        get_settings.cache_clear()
