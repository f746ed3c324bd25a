"""Garbage-collector settings for a worker process (docs/decisions/0037-gc-tuning.md).

A worker holds a large, long-lived heap (routes, pydantic models, compiled triage patterns,
SQLAlchemy metadata) and makes many short-lived objects per frame. With CPython's defaults
(gen0 threshold 700) the young generation is collected hundreds of times a second under
load, and now and then a full collection walks the whole heap: 200-250 ms of CPU in one
go, which shows as a latency spike for every connection on that worker.

`tune()` is called once a worker has started (end of the lifespan's setup):
- `gc.freeze()` moves everything alive then into the permanent generation, so later full
  collections skip the startup heap;
- the gen0 threshold is raised (10,000 by default) so young collections are rarer and each
  one still touches only young objects.

Reference counting still frees almost everything at once; only cycles wait longer, bounded
by the threshold. Both are settings (`PARLEY_GC_FREEZE`, `PARLEY_GC_GEN0_THRESHOLD`, 0 =
CPython's default) so an operator can turn them off.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def tune(*, freeze: bool, gen0_threshold: int) -> None:
    """Apply the collector settings to this process. Idempotent; never raises."""
    if gen0_threshold > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)
    if freeze:
        # Collect first so the frozen set holds live objects only, not startup garbage.
        gc.collect()
        gc.freeze()
    log.debug(
        "gc tuned",
        extra={"gc_threshold": gc.get_threshold(), "gc_frozen": gc.get_freeze_count()},
    )
