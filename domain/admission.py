"""Admission control: refuse new writes at once while this worker's event loop is overloaded.

Under overload a worker still accepts every `send`; each one then waits behind thousands of
deliveries and database round trips, and its `ack` comes 16-20 s later (issue 13). A fast
"not now, retry in N s" is better for everyone: the client backs off, the work already
admitted finishes sooner, and nothing is stored that the client does not hear about.

The signal is the event loop's lag, measured all the time by `LoopLag`: a task that asks to
wake up every `period` seconds and records how much later than asked it ran. Everything a
worker does (reads, deliveries, database and Redis replies) runs on that one loop, so its
lag is how long any new piece of work waits before it even starts. It is smoothed (an
exponentially weighted mean of samples capped at twice the bound) so that one stall (a
garbage-collection pause, one slow request) never refuses sends, while a lag that lasts
crosses the bound within a few probes.

Guarantees:
- `Admission.check()` costs a comparison and never awaits: a refused request does no I/O
  and has stored nothing; an admitted one runs exactly as without admission control.
- What is refused is decided by the transports (realtime/ws_session.py, rest/deps.py):
  only new writes whose rate a client controls (`send`, `POST .../messages`). Everything
  already admitted, every read, ping, subscribe and cancel is left alone.
- A bound of None (PARLEY_ADMISSION_LAG_MS=0) turns refusals off; the lag is still measured.
"""

from __future__ import annotations

import asyncio
import math
from typing import Final

from domain import metrics
from domain.errors import Unavailable

# How often the probe wakes up: 20 wake-ups a second cost under 0.3 % of a core (measured:
# docs/benchmarks.md "Admission control") and see a lasting backlog within ~0.1-0.2 s.
PROBE_SECONDS: Final = 0.05
# Weight of the newest sample in the smoothed lag: a step change is 83 % in after 5 probes.
SMOOTHING: Final = 0.3
# The retry-after hint, in whole seconds (REST's Retry-After is whole seconds too).
MIN_RETRY_SECONDS: Final = 1
MAX_RETRY_SECONDS: Final = 10

OVERLOADED = "The server is overloaded; nothing was stored. Retry after the hinted delay."


class Overloaded(Unavailable):
    """Refused by admission control before anything was done; `retry_after` is the hint
    (whole seconds) sent as the error frame's `retry_after` and REST's `Retry-After`."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(OVERLOADED)
        self.retry_after = retry_after


class LoopLag:
    """This worker's event-loop lag: the latest probe sample and its smoothed value.

    Each sample enters the smoothed value capped at `cap` seconds (admission sets it to
    twice its bound): one stall, however long, then moves it by at most 0.3 x cap, below the
    bound, so only a lag that lasts (two probes in a row, or a steady backlog) crosses it.
    The histogram records every sample uncapped."""

    __slots__ = ("cap", "last", "period", "smoothed")

    def __init__(self, period: float = PROBE_SECONDS, cap: float = math.inf) -> None:
        self.period = period
        self.cap = cap
        self.last = 0.0
        self.smoothed = 0.0

    def observe(self, late: float) -> None:
        """One probe woke up `late` seconds after it asked to."""
        late = max(0.0, late)
        self.last = late
        self.smoothed += SMOOTHING * (min(late, self.cap) - self.smoothed)
        metrics.LOOP_LAG.observe(late)

    async def run(self) -> None:
        """Probe until cancelled (started once per worker by the lifespan)."""
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.period
            await asyncio.sleep(self.period)
            self.observe(loop.time() - due)


class Admission:
    """Decides, per new write, whether this worker takes it now."""

    __slots__ = ("bound", "lag")

    def __init__(self, lag: LoopLag, bound: float | None) -> None:
        self.lag = lag
        self.bound = bound  # seconds of smoothed lag; None: never refuse

    @classmethod
    def with_bound(cls, bound: float | None) -> Admission:
        """Admission control over a new probe whose samples are capped at twice `bound`."""
        return cls(LoopLag(cap=2 * bound if bound else math.inf), bound)

    def overloaded(self) -> bool:
        return self.bound is not None and self.lag.smoothed > self.bound

    def retry_after(self) -> int:
        """A hint of when to come back: about twice the current lag, 1-10 s. A loop that
        is late by L seconds per wake-up needs at least that long to drain what it holds;
        clients add jitter on top (client/sends.py), so they do not return in lockstep."""
        seconds = math.ceil(2 * self.lag.smoothed)
        return min(MAX_RETRY_SECONDS, max(MIN_RETRY_SECONDS, seconds))

    def check(self, transport: str) -> None:
        """Raise `Overloaded` if this worker should refuse a new write now. `transport`
        (`ws` or `rest`) only labels the refusal counter."""
        if self.overloaded():
            metrics.overload_refused(transport)
            raise Overloaded(self.retry_after())
