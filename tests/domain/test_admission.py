"""The event-loop lag probe and the admission decision (domain/admission.py), in process:
the stimulus is this test's own loop, blocked on purpose."""

from __future__ import annotations

import asyncio
import time

import pytest

from domain.admission import Admission, LoopLag, Overloaded


async def test_the_probe_measures_a_blocked_loop_and_forgets_it() -> None:
    lag = LoopLag(period=0.01)
    admission = Admission(lag, bound=0.05)
    probe = asyncio.create_task(lag.run())
    try:
        await asyncio.sleep(0.05)
        assert not admission.overloaded()
        time.sleep(0.3)  # noqa: ASYNC251 - the stimulus: a loop that cannot run
        # Before the probe even ran again, it is overdue: the lag is seen at once.
        assert admission.overloaded()
        with pytest.raises(Overloaded) as refused:
            admission.check("ws")
        assert refused.value.retry_after == 1
        async with asyncio.timeout(10):
            while admission.overloaded():  # noqa: ASYNC110 - the probe's state, no event
                await asyncio.sleep(0.01)
        assert lag.last < 0.3
    finally:
        probe.cancel()


def test_a_disabled_bound_never_refuses() -> None:
    lag = LoopLag()
    lag.observe(5.0)
    Admission(lag, bound=None).check("rest")  # no exception
    assert lag.smoothed > 1
