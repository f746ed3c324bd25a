"""Parley's Prometheus instruments: every metric the server records, defined once.

Any layer may record into these (domain/, realtime/, rest/, edge/ import this module; it
imports nothing of the project). Exposition lives in rest/metrics.py; across uvicorn worker
processes the client library's multiprocess mode sums them (docs/decisions/0024).

Guarantees:
- No label ever carries a user id, room id, channel name, message text or anything from a
  conversation. Labels are bounded vocabularies: channel *kinds* (`room`, `quiz`, ...),
  frame *types*, transports, overflow policies, route *templates*, protocol error codes,
  provider names. A value outside a vocabulary that grows from the wire (a frame type from
  Redis, a channel kind) is counted under `other` once `LABEL_CAP` distinct values exist.
- Hot paths never call `.labels()`: the helpers below hold bound children in dicts. A
  delivered frame costs one plain-int increment in this process (`flush()`, called by the
  sampler every few seconds, moves the counts into the shared counter: a multiprocess
  counter increment costs microseconds, per frame that would be most of a fan-out), plus
  one histogram observation for one live frame in `LAG_SAMPLE_EVERY`.
- Gauges describing this worker's state (connections, subscriptions, outbox depth, pool)
  are set by a periodic sampler (realtime/telemetry.py), never on the hot path; in
  multiprocess mode they are `livesum`/`livemax`, so a dead worker's values disappear.
"""

from __future__ import annotations

import time
from typing import Final, Protocol

from prometheus_client import Counter, Gauge, Histogram

LABEL_CAP: Final = 48
OTHER: Final = "other"
# Delivery lag is observed for one delivered frame in this many (a histogram observation
# costs a few counter increments); `parley_frames_delivered_total` counts every frame.
LAG_SAMPLE_EVERY: Final = 16

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SLOW = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)

# --- connections and subscriptions (sampled) ----------------------------------------------
CONNECTIONS = Gauge(
    "parley_connections",
    "Open client connections on the worker, by transport (ws, sse).",
    ["transport"],
    multiprocess_mode="livesum",
)
SUBSCRIPTIONS = Gauge(
    "parley_subscriptions",
    "Live subscriptions, by channel kind.",
    ["kind"],
    multiprocess_mode="livesum",
)
CHANNELS = Gauge(
    "parley_channels",
    "Channels with local subscribers (one Redis subscription each), by channel kind.",
    ["kind"],
    multiprocess_mode="livesum",
)
OUTBOX_FRAMES = Gauge(
    "parley_outbox_frames",
    "Frames queued in connection outboxes, summed over connections.",
    multiprocess_mode="livesum",
)
OUTBOX_MAX = Gauge(
    "parley_outbox_max_frames",
    "The deepest connection outbox on any worker.",
    multiprocess_mode="livemax",
)

# --- events and delivery -------------------------------------------------------------------
EVENTS_PUBLISHED = Counter(
    "parley_events_published_total",
    "Events published to the broker by this server, by channel kind.",
    ["kind"],
)
FRAMES_DELIVERED = Counter(
    "parley_frames_delivered_total",
    "Frames written to a client socket or stream, by frame type.",
    ["type"],
)
DELIVERY_LAG = Histogram(
    "parley_delivery_lag_seconds",
    "Publish (envelope encoded) to written to the client, for live events; sampled.",
    buckets=_LATENCY,
)
OVERFLOW = Counter(
    "parley_outbox_overflow_total",
    "Outbox overflows, by the channel kind's policy: close (4008), drop (replayed later) "
    "or replace (a queued snapshot replaced by a newer one).",
    ["policy"],
)
REDIS_RECONNECTS = Counter(
    "parley_redis_reconnects_total", "Times the worker's Redis pub/sub connection came back."
)
GAPS_FILLED = Counter(
    "parley_gaps_filled_total",
    "Ordered events delivered by a gap fill rather than live pub/sub.",
)

# --- server health ------------------------------------------------------------------------
LOOP_LAG = Histogram(
    "parley_event_loop_lag_seconds",
    "How late the event loop ran a timer that should have fired on time.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
LOOP_LAG_SMOOTHED = Gauge(
    "parley_event_loop_lag_smoothed_seconds",
    "The worker's smoothed event-loop lag, the signal admission control compares with "
    "PARLEY_ADMISSION_LAG_MS (sampled); the highest of any worker.",
    multiprocess_mode="livemax",
)
OVERLOAD_REFUSED = Counter(
    "parley_overload_refusals_total",
    "New writes refused by admission control (`unavailable` with a retry-after hint), "
    "by transport (ws, rest).",
    ["transport"],
)
DB_POOL_IN_USE = Gauge(
    "parley_db_pool_in_use",
    "PostgreSQL connections checked out of the pool.",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "parley_db_pool_size",
    "PostgreSQL connections the pool holds (idle + in use).",
    multiprocess_mode="livesum",
)
ADMISSION_REFUSED = Counter(
    "parley_admission_refusals_total",
    "Connections or frames refused before they did anything, by protocol error code.",
    ["code"],
)
HTTP_REQUESTS = Counter(
    "parley_http_requests_total",
    "HTTP requests, by method, route template and status class.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "parley_http_request_duration_seconds",
    "HTTP request duration (to the end of the response body), by route template.",
    ["method", "route"],
    buckets=_LATENCY,
)

# --- bot and study groups -----------------------------------------------------------------
LLM_STREAMS = Gauge(
    "parley_llm_streams",
    "Bot answers being generated now.",
    multiprocess_mode="livesum",
)
LLM_TTFT = Histogram(
    "parley_llm_time_to_first_token_seconds",
    "Time from the start of an answer to its first token, by provider.",
    ["provider"],
    buckets=_SLOW,
)
LLM_TOKENS_PER_SECOND = Histogram(
    "parley_llm_tokens_per_second",
    "Generation speed of a finished answer (deltas per second after the first), by provider.",
    ["provider"],
    buckets=(1, 2, 5, 10, 20, 40, 80, 160, 320),
)
BOT_QUOTA_REFUSED = Counter(
    "parley_bot_quota_refusals_total", "Bot questions refused by the per-user quota."
)
QUIZ_ANSWERS = Counter("parley_quiz_answers_total", "Quiz answers accepted.")
BOARD_SNAPSHOTS = Counter(
    "parley_board_snapshots_total", "Leaderboard snapshots published (after coalescing)."
)
BOARD_COALESCED = Counter(
    "parley_board_updates_coalesced_total",
    "Leaderboard changes folded into a later snapshot instead of publishing their own.",
)


class _Incrementable(Protocol):
    def inc(self, amount: float = 1) -> None: ...


class _Bound:
    """Bound children of one labelled counter, created once per label value (capped)."""

    __slots__ = ("_children", "_counter")

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._children: dict[str, _Incrementable] = {}

    def __getitem__(self, value: str) -> _Incrementable:
        child = self._children.get(value)
        if child is None:
            if len(self._children) >= LABEL_CAP:
                value = OTHER
            child = self._children.get(value) or self._counter.labels(value)
            self._children[value] = child
        return child


_published = _Bound(EVENTS_PUBLISHED)
_delivered = _Bound(FRAMES_DELIVERED)
_refused = _Bound(ADMISSION_REFUSED)
_overloaded = {t: OVERLOAD_REFUSED.labels(t) for t in ("ws", "rest")}
OVERFLOW_CLOSE = OVERFLOW.labels("close")
OVERFLOW_DROP = OVERFLOW.labels("drop")
OVERFLOW_REPLACE = OVERFLOW.labels("replace")
_lag_tick = LAG_SAMPLE_EVERY - 1  # the first live frame is observed


def channel_kind(channel: str) -> str:
    """`room` of `room:42`: the only part of a channel name a metric may carry."""
    return channel.partition(":")[0]


def published(channel: str) -> None:
    """One event published on `channel` (counted by its kind)."""
    _published[channel_kind(channel)].inc()


_unflushed: dict[str, int] = {}


def delivered(frame_type: str | None, published_at: float | None) -> None:
    """One frame written to a client. `published_at` (epoch seconds, from the event's
    header) is given for live events only; replays would measure their age, not lag.
    Counted locally until the next `flush()`."""
    global _lag_tick
    key = frame_type or OTHER
    count = _unflushed.get(key)
    if count is None and len(_unflushed) >= LABEL_CAP:
        key, count = OTHER, _unflushed.get(OTHER)
    _unflushed[key] = (count or 0) + 1
    if published_at is not None:
        _lag_tick += 1
        if _lag_tick >= LAG_SAMPLE_EVERY:
            _lag_tick = 0
            DELIVERY_LAG.observe(max(0.0, time.time() - published_at))


def flush() -> None:
    """Add the locally counted delivered frames to the shared counters. Called by the
    sampler (realtime/telemetry.py) every `presence_ttl / 4` seconds and at shutdown; a
    worker killed outright loses at most that long of delivery counts."""
    pending = list(_unflushed.items())
    _unflushed.clear()
    for key, count in pending:
        _delivered[key].inc(count)


def refused(code: str) -> None:
    """A connection or frame refused with protocol error `code`."""
    _refused[code].inc()


def overload_refused(transport: str) -> None:
    """A new write refused by admission control on `transport` (`ws` or `rest`)."""
    _overloaded[transport].inc()


class LlmStream:
    """One bot answer's measurements: in flight, time to first token, deltas per second.

    `start()` once, `piece()` per received text piece (cheap after the first), `end()` once
    (idempotent, so a path that ends twice cannot drive the in-flight gauge negative).
    """

    __slots__ = ("_first", "_pieces", "_provider", "_started")

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._started = 0.0
        self._first = 0.0
        self._pieces = 0

    def start(self) -> None:
        self._started = time.monotonic()
        LLM_STREAMS.inc()

    def piece(self) -> None:
        self._pieces += 1
        if self._pieces == 1 and self._started:
            self._first = time.monotonic()
            LLM_TTFT.labels(self._provider).observe(self._first - self._started)

    def end(self) -> None:
        if not self._started:
            return
        self._started = 0.0
        LLM_STREAMS.dec()
        elapsed = time.monotonic() - self._first if self._first else 0.0
        if self._pieces > 1 and elapsed > 0:
            LLM_TOKENS_PER_SECOND.labels(self._provider).observe((self._pieces - 1) / elapsed)
