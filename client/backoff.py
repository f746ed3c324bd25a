"""Capped, jittered exponential backoff for reconnects and retries.

"Full jitter" (a uniform draw between 0 and the current ceiling) spreads thousands of
clients that lost the same worker at the same instant over the whole window, so they do
not stampede the survivors in lockstep.
"""

from __future__ import annotations

import random


class Backoff:
    """Delays for successive failed attempts: uniform in [0, min(cap, base * factor**n)].

    Guarantees: every delay is >= 0 and <= `cap`; the ceiling doubles (by `factor`) per
    failure until it reaches `cap`; `reset()` (after a successful connection) starts over.
    Pass `rng` for reproducible delays in tests.
    """

    def __init__(
        self,
        base: float = 1.0,
        cap: float = 30.0,
        factor: float = 2.0,
        rng: random.Random | None = None,
    ) -> None:
        if base <= 0 or cap < base or factor < 1:
            raise ValueError("need 0 < base <= cap and factor >= 1")
        self.base = base
        self.cap = cap
        self.factor = factor
        self.failures = 0
        self._rng = rng or random.Random()

    def ceiling(self) -> float:
        """The upper bound of the next delay."""
        # Compare exponents before computing the power so a long outage cannot overflow.
        if self.failures > 64:
            return self.cap
        return min(self.cap, self.base * self.factor**self.failures)

    def next(self) -> float:
        """The delay before the next attempt; counts one more failure."""
        delay = self._rng.uniform(0, self.ceiling())
        self.failures += 1
        return delay

    def prompt(self) -> float:
        """A short jittered delay for a deliberate close (server restart): reconnect at
        once, but not all clients in the same millisecond. Does not count a failure."""
        return self._rng.uniform(0, self.base)

    def reset(self) -> None:
        self.failures = 0
