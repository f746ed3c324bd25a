"""The event-loop lag probe and the admission decision (domain/admission.py), in process:
the stimulus is this test's own loop, blocked on purpose."""

from __future__ import annotations

import asyncio
import time

import pytest

from domain.admission import Admission, LoopLag, Overloaded


def test_one_stall_however_long_does_not_refuse_but_a_lasting_lag_does() -> None:
    admission = Admission.with_bound(0.25)
    admission.lag.observe(30.0)  # one probe 30 s late: a stall, not an overload
    assert admission.lag.last == 30.0
    assert not admission.overloaded()
    admission.lag.observe(0.6)  # and late again: the lag lasts
    assert admission.overloaded()
    with pytest.raises(Overloaded) as refused:
        admission.check("ws")
    assert refused.value.retry_after in range(1, 11)
    for _ in range(20):  # the loop caught up
        admission.lag.observe(0.001)
    assert not admission.overloaded()
    admission.check("ws")  # admitted: no exception


def test_the_hint_follows_the_lag_within_its_bounds() -> None:
    lag = LoopLag()
    admission = Admission(lag, bound=0.1)
    lag.smoothed = 0.2
    assert admission.retry_after() == 1
    lag.smoothed = 2.2
    assert admission.retry_after() == 5
    lag.smoothed = 60.0
    assert admission.retry_after() == 10


def test_a_disabled_bound_never_refuses() -> None:
    admission = Admission.with_bound(None)
    for _ in range(10):
        admission.lag.observe(5.0)
    admission.check("rest")  # no exception
    assert admission.lag.smoothed > 1


async def test_the_probe_measures_a_lagging_loop_and_forgets_it() -> None:
    admission = Admission.with_bound(0.05)
    admission.lag.period = 0.01
    probe = asyncio.create_task(admission.lag.run())
    try:
        await asyncio.sleep(0.05)
        async with asyncio.timeout(10):
            while not admission.overloaded():
                time.sleep(0.2)  # noqa: ASYNC251 - the stimulus: a loop that cannot run
                await asyncio.sleep(0)
        assert admission.lag.last >= 0.1
        async with asyncio.timeout(10):
            while admission.overloaded():  # noqa: ASYNC110 - the probe's state, no event
                await asyncio.sleep(0.01)
    finally:
        probe.cancel()
