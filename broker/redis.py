"""The Redis broker: one pub/sub connection per worker, one subscription per channel.

The read loop owns the pub/sub connection's lifecycle (redis-py's async pub/sub does not
reliably reconnect by itself): on any connection error it reconnects with capped,
jittered backoff, resubscribes every channel that still has local subscribers, and then
calls the reconnect handler so the hub can fill what was published meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from broker import redis_lua
from broker.base import Broker
from broker.redis_batch import DeltaBatcher
from broker.redis_stores import RedisStores, as_bytes

log = logging.getLogger("parley.broker")

_HISTORY_TTL_SECONDS = 7 * 24 * 3600
_BACKOFF_MIN, _BACKOFF_MAX = 0.1, 5.0
_CONFIRM_TIMEOUT = 5.0
_SILENCE_SECONDS = 15.0


class RedisBroker(RedisStores, Broker):
    def __init__(self, url: str, node: str, *, prefix: str = "parley", history_cap: int = 1000):
        super().__init__(node)
        self._url = url
        self._prefix = prefix
        self._cap = history_cap
        # Commands retry a few times on a dropped connection (a restarted Redis leaves every
        # pooled connection stale), never on timeouts (supported_errors), where the command
        # may have run: a retried SET NX or GETDEL would refuse a legitimate user.
        # Retrying a durable publish is safe: history replaces the seq, hubs drop duplicates.
        # A blocking pool: a burst of commands (thousands of clients subscribing at once)
        # waits for a connection instead of failing with MaxConnectionsError.
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=64,
            timeout=5,
            socket_connect_timeout=2,
            socket_timeout=5,
            retry=Retry(
                ExponentialWithJitterBackoff(base=0.05, cap=1.0),
                3,
                supported_errors=(RedisConnectionError,),
            ),
            retry_on_error=[RedisConnectionError],
        )
        self._redis: aioredis.Redis = aioredis.Redis.from_pool(pool)  # owns and closes it
        # The pub/sub connection gets its own client with retries off: redis-py's silent
        # internal reconnect would lose subscriptions; our read loop owns reconnection.
        self._sub_client: aioredis.Redis = aioredis.from_url(
            url, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0), **_transport_options(url)
        )
        self._pubsub: Any = None
        self._refs: dict[str, int] = {}
        self._confirm: dict[str, asyncio.Future[None]] = {}
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._closing = False
        self._publish_durable = self._redis.register_script(redis_lua.PUBLISH_DURABLE)
        self._deltas = DeltaBatcher(self._redis)
        self._register_store_scripts()

    # --- naming ---------------------------------------------------------------------------
    def _wire(self, channel: str) -> str:
        return f"{self._prefix}:ch:{channel}"

    def _channel_of(self, wire: str) -> str:
        return wire[len(self._prefix) + 4 :]

    def _key(self, kind: str, name: str) -> str:
        return f"{self._prefix}:{kind}:{name}"

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read_loop(), name="broker-reader")

    async def close(self) -> None:
        """Stop reading and close every connection; bounded even if Redis misbehaves.

        redis-py can turn a cancellation during connect into a timeout and carry on, so
        the reader is cancelled until it has really stopped (it also checks `_closing`).
        """
        self._closing = True
        if self._reader is not None:
            for _ in range(5):
                self._reader.cancel()
                done, _ = await asyncio.wait({self._reader}, timeout=1)
                if done:
                    break
        for close in (
            self._pubsub.aclose() if self._pubsub is not None else None,
            self._redis.aclose(),
            self._sub_client.aclose(),
        ):
            if close is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(close, 5)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except RedisError:
            return False

    # --- pub/sub ----------------------------------------------------------------------------
    async def publish(self, channel: str, data: bytes, *, seq: int | None = None) -> None:
        if seq is None:
            await self._redis.publish(self._wire(channel), data)
            return
        await self._publish_durable(
            keys=[self._key("hist", channel)],
            args=[self._wire(channel), data, seq, self._cap, _HISTORY_TTL_SECONDS],
        )

    async def publish_many(self, channel: str, items: Sequence[bytes]) -> None:
        # One pipelined round trip (no MULTI: order is all that matters here).
        if not items:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for data in items:
                pipe.publish(self._wire(channel), data)
            await pipe.execute()

    async def publish_durable(self, channel: str, items: Sequence[tuple[int, bytes]]) -> None:
        # One pipelined round trip (no MULTI): commands on one connection run in the order
        # sent, so subscribers get the events in that order; each script call is atomic.
        if not items:
            return
        key, wire, sha = self._key("hist", channel), self._wire(channel), self._publish_durable.sha
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for seq, data in items:
                    pipe.evalsha(sha, 1, key, wire, data, seq, self._cap, _HISTORY_TTL_SECONDS)
                await pipe.execute()
        except NoScriptError:
            # A Redis without the script (fresh or restarted): the one-by-one path loads it.
            # Publishing a seq again is harmless: history replaces it, subscribers drop it.
            for seq, data in items:
                await self.publish(channel, data, seq=seq)

    async def stream_publish(
        self, key: str, channel: str, data: bytes, *, maxlen: int, ttl: float, flag: str
    ) -> bool:
        # One script call (append, expire, publish, read the flag: in that order, atomic),
        # batched with the other answers' deltas of this loop turn (broker/redis_batch.py).
        return await self._deltas.publish(
            (self._key("stream", key), self._key("kv", flag), self._wire(channel), data,
             maxlen, max(1, int(ttl * 1000)))
        )  # fmt: skip

    async def subscribe(self, channel: str) -> None:
        self._refs[channel] = self._refs.get(channel, 0) + 1
        inflight = self._inflight.get(channel)
        if inflight is None:
            if self._refs[channel] > 1:
                return  # confirmed earlier
            inflight = asyncio.ensure_future(self._first_subscribe(channel))
            self._inflight[channel] = inflight
            inflight.add_done_callback(lambda _: self._inflight.pop(channel, None))
            # Its callers report a failure; if they all gave up first, nobody would read it
            # and asyncio would log "Task exception was never retrieved".
            inflight.add_done_callback(_retrieve)
        try:
            # Every concurrent caller waits for the one confirmation.
            await asyncio.shield(inflight)
        except asyncio.CancelledError:
            self._forget(channel)
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the caller itself was cancelled (its client went away)
            # The confirmation was cancelled by a lost connection: a failure, not a cancel.
            raise ConnectionError(f"cannot subscribe to {channel}: connection lost") from None
        except (RedisError, OSError, TimeoutError) as exc:
            self._forget(channel)
            raise ConnectionError(f"cannot subscribe to {channel}: {exc}") from exc

    def _forget(self, channel: str) -> None:
        """Drop a failed subscriber's reference; unsubscribe upstream if it was the last."""
        if self._drop_ref(channel) and self._pubsub is not None:
            pubsub = self._pubsub

            async def unsubscribe() -> None:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.unsubscribe(self._wire(channel))

            task = asyncio.get_running_loop().create_task(unsubscribe())
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            task.add_done_callback(_retrieve)

    async def _first_subscribe(self, channel: str) -> None:
        await asyncio.wait_for(self._connected.wait(), _CONFIRM_TIMEOUT)
        await self._subscribe_confirmed([channel])

    async def unsubscribe(self, channel: str) -> None:
        if self._drop_ref(channel) and self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe(self._wire(channel))

    def _drop_ref(self, channel: str) -> bool:
        left = self._refs.get(channel, 0) - 1
        if left > 0:
            self._refs[channel] = left
            return False
        self._refs.pop(channel, None)
        return True

    async def _subscribe_confirmed(self, channels: list[str]) -> None:
        loop = asyncio.get_running_loop()
        waits = []
        for channel in channels:
            fut = self._confirm.get(channel)
            if fut is None or fut.done():
                fut = loop.create_future()
                self._confirm[channel] = fut
            waits.append(fut)
        await self._pubsub.subscribe(*(self._wire(c) for c in channels))
        # The seam: callers read heads/history only after Redis confirmed the subscription.
        await asyncio.wait_for(asyncio.gather(*waits), _CONFIRM_TIMEOUT)

    async def history(self, channel: str, after: int, upto: int) -> list[bytes] | None:
        if upto <= after:
            return []
        raw = await self._redis.zrangebyscore(self._key("hist", channel), f"({after}", upto)
        items = [as_bytes(item) for item in raw]
        return items if len(items) == upto - after else None

    async def _read_loop(self) -> None:
        backoff = _BACKOFF_MIN
        first = True
        while not self._closing:
            pump: asyncio.Task[None] | None = None
            try:
                self._pubsub = self._sub_client.pubsub()
                # A pub/sub connection is only made by a command: ping to connect now.
                await self._pubsub.ping()
                pump = asyncio.create_task(self._pump(self._pubsub), name="broker-pump")
                channels = list(self._refs)
                if channels:
                    await self._subscribe_confirmed(channels)
                self._connected.set()
                if not first:
                    log.info(
                        "redis reconnected", extra={"node": self.node, "channels": len(channels)}
                    )
                    if self._on_reconnect is not None:
                        await self._on_reconnect()
                first = False
                backoff = _BACKOFF_MIN
                await pump
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Any failure, expected or not, ends in the same place: log it once, back
                # off, reconnect. The reader must never die (subscribers would wait forever).
                self._connected.clear()
                delay = min(_BACKOFF_MAX, backoff) * random.uniform(0.5, 1.0)
                extra = {"node": self.node, "error": type(exc).__name__, "retry_in": delay}
                if isinstance(exc, RedisError | OSError | TimeoutError):
                    log.warning("redis pub/sub connection lost; reconnecting", extra=extra)
                else:
                    log.exception("redis pub/sub reader failed; reconnecting", extra=extra)
                backoff = min(_BACKOFF_MAX, backoff * 2)
                await asyncio.sleep(delay)
            finally:
                if pump is not None:
                    pump.cancel()
                    with contextlib.suppress(BaseException):
                        await pump
                for fut in self._confirm.values():
                    fut.cancel()
                self._confirm.clear()
                if self._pubsub is not None and not self._closing:
                    with contextlib.suppress(Exception):
                        await self._pubsub.aclose()

    async def _pump(self, pubsub: Any) -> None:
        """Hand every pub/sub message on; never await slow work here.

        A connection that stays silent is probed with PING; no answer within
        `_SILENCE_SECONDS` means a half-open connection, and the read loop reconnects.
        """
        loop = asyncio.get_running_loop()
        heard = loop.time()
        probed: float | None = None
        while not self._closing:
            try:
                msg = await pubsub.get_message(ignore_subscribe_messages=False, timeout=1.0)
            except RedisTimeoutError:
                msg = None
            now = loop.time()
            if msg is None:
                if probed is None and now - heard > _SILENCE_SECONDS:
                    await pubsub.ping()
                    probed = now
                elif probed is not None and now - probed > _SILENCE_SECONDS:
                    raise RedisConnectionError("pub/sub connection went silent")
                continue
            heard, probed = now, None
            kind = msg["type"]
            if kind not in ("message", "subscribe"):
                continue  # pong and unsubscribe confirmations
            wire = msg["channel"].decode() if isinstance(msg["channel"], bytes) else msg["channel"]
            if kind == "message":
                self._deliver(self._channel_of(wire), msg["data"])
            else:
                fut = self._confirm.pop(self._channel_of(wire), None)
                if fut is not None and not fut.done():
                    fut.set_result(None)


def _transport_options(url: str) -> dict[str, Any]:
    """Socket options valid for the URL's transport, and only those.

    redis-py passes connection keyword arguments straight to the connection class, and the
    unix-socket class refuses TCP-only ones (`socket_keepalive` raises TypeError on every
    connect since redis-py 8). TCP keep-alive matters for the long-lived pub/sub
    connection: it lets the kernel notice a peer that vanished without a FIN.
    """
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("redis", "rediss"):
        return {"socket_keepalive": True}
    return {}


def _retrieve(fut: asyncio.Future[Any]) -> None:
    """Log a background failure nobody else will see (its outcome is read either way)."""
    if not fut.cancelled() and (exc := fut.exception()) is not None:
        log.info("background redis call failed", extra={"error": type(exc).__name__})
