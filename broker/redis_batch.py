"""Bot deltas of every answer on a worker, sent to Redis in as few round trips as the load
allows (docs/decisions/0030-batched-delta-publishes.md).

Each delta is one EVALSHA of `redis_lua.STREAM_PUBLISH` (append, expire, publish, read the
cancel flag: one command, one reply). Deltas submitted during one turn of the event loop
are written to one pooled connection together, as the next turn's first act: an idle
worker sends a lone delta at once (no timer, no added delay), a busy one sends dozens in
one write and one read. At 10,000 tokens/s the per-round-trip costs (pool checkout, the
send and receive system calls, the loop wake-up, redis-py's retry and timeout wrappers)
were most of the CPU a delta took.

Guarantees: each caller gets its own delta's reply or error. Order within an answer holds
because its pump awaits one delta before submitting the next; deltas of different answers
have no order to keep. A dropped connection is retried once on a fresh one: a delta that
had already run is then appended and published twice, which the stream index in its
header makes harmless (hubs and resume drop an index a subscriber already has). A NOSCRIPT
(a restarted or flushed Redis) loads the script and resends only the deltas that did not
run.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

from broker import redis_lua

Args = tuple[str, str, str, bytes, int, int]  # stream key, flag key, channel, data, cap, ms


class DeltaBatcher:
    def __init__(self, redis: aioredis.Redis, script: str = redis_lua.STREAM_PUBLISH) -> None:
        self._redis = redis
        self._script = script
        self._sha = hashlib.sha1(script.encode()).hexdigest()
        self._queue: list[tuple[Args, asyncio.Future[bool]]] = []
        self._scheduled = False
        self._sending: set[asyncio.Task[None]] = set()

    async def publish(self, args: Args) -> bool:
        """Run one delta; True if its cancel flag was set. Raises what Redis raised."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bool] = loop.create_future()
        self._queue.append((args, fut))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await fut

    def _flush(self) -> None:
        self._scheduled = False
        batch, self._queue = self._queue, []
        task = asyncio.ensure_future(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[Args, asyncio.Future[bool]]]) -> None:
        todo = batch
        retried = loaded = False
        while todo:
            try:
                replies = await self._round_trip([args for args, _ in todo])
            except RedisConnectionError as exc:
                if retried:
                    _fail(todo, exc)
                    return
                retried = True
                continue
            except BaseException as exc:  # a timeout, a cancelled worker: every caller hears
                _fail(todo, exc)
                if not isinstance(exc, Exception):
                    raise
                return
            again = []
            for (args, fut), reply in zip(todo, replies, strict=True):
                if isinstance(reply, NoScriptError) and not loaded:
                    again.append((args, fut))  # did not run: safe to send again
                elif fut.done():
                    continue  # its caller gave up (cancelled)
                elif isinstance(reply, Exception):
                    fut.set_exception(reply)
                else:
                    fut.set_result(bool(reply))
            if again:
                loaded = True
                try:
                    await self._redis.script_load(self._script)
                except Exception as exc:  # noqa: BLE001 - told to each caller
                    _fail(again, exc)
                    return
            todo = again

    async def _round_trip(self, batch: Sequence[Args]) -> list[Any]:
        """One write of every EVALSHA and their replies, in order, on one pooled
        connection; an error reply is returned in its place (the connection stays in
        step), a connection error discards the connection and is raised."""
        pool = self._redis.connection_pool
        conn = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await conn.send_packed_command(
                conn.pack_commands(("EVALSHA", self._sha, 2, *args) for args in batch)
            )
            replies: list[Any] = []
            for _ in batch:
                try:
                    replies.append(await conn.read_response())
                except ResponseError as exc:
                    replies.append(exc)
            return replies
        except BaseException:
            await conn.disconnect()  # replies may still be on the way: never reuse it
            raise
        finally:
            await pool.release(conn)


def _fail(batch: list[tuple[Args, asyncio.Future[bool]]], exc: BaseException) -> None:
    for _, fut in batch:
        if not fut.done():
            fut.set_exception(exc if isinstance(exc, Exception) else RedisConnectionError())
