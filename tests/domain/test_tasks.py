"""Background tasks fail loudly, once, and never as "Task exception was never retrieved"."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from domain.tasks import every, spawn


async def test_a_failed_background_task_is_logged_once_with_its_role_and_never_unretrieved(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> None:
        raise ZeroDivisionError("a bug")

    caplog.set_level(logging.WARNING)
    task = spawn(broken(), name="hub-fill")
    await asyncio.wait({task})
    del task
    gc.collect()  # an unretrieved exception would be reported by asyncio right here
    failures = [r for r in caplog.records if r.name == "parley.tasks"]
    assert [(r.getMessage(), r.__dict__["task"], r.__dict__["error"]) for r in failures] == [
        ("background task failed", "hub-fill", "ZeroDivisionError")
    ]
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]


async def test_an_expected_ending_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def client_gone() -> None:
        raise ConnectionResetError

    caplog.set_level(logging.WARNING)
    task = spawn(client_gone(), name="ws-send-3f2a", expected=(OSError,))
    await asyncio.wait({task})
    assert not [r for r in caplog.records if r.name == "parley.tasks"]


async def test_a_periodic_job_outlives_its_failures(caplog: pytest.LogCaptureFixture) -> None:
    runs = 0
    done = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise ConnectionError("down")
        done.set()

    caplog.set_level(logging.WARNING)
    loop = spawn(every(0.01, flaky), name="hub-presence")
    try:
        await asyncio.wait_for(done.wait(), 5)
    finally:
        loop.cancel()
    failed = [r for r in caplog.records if r.getMessage() == "periodic job failed"]
    assert [(r.__dict__["job"], r.__dict__["error"]) for r in failed] == [
        ("flaky", "ConnectionError"),
        ("flaky", "ConnectionError"),
    ]
