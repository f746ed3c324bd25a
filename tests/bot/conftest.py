"""Fixtures for bot tests: the local OpenAI-compatible model server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.bot.fake_llm import FakeLLM


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    """A fresh fake model server on 127.0.0.1 (tests/bot/fake_llm.py) for this test."""
    fake = FakeLLM()
    await fake.start()
    yield fake
    await fake.stop()
