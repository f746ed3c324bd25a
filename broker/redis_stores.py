"""The storage capabilities (broker/stores.py) on Redis, shared by every worker.

A mixin of RedisBroker: it uses the broker's command client (`_redis`, a blocking pool with
retries on dropped connections) and its key naming (`_key`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from broker import redis_lua
from broker.stores import (
    KeyStore,
    PresenceEntry,
    PresencePage,
    PresenceStore,
    SortedSetStore,
    StreamStore,
    Tally,
)


class RedisStores(PresenceStore, KeyStore, SortedSetStore, StreamStore):
    _redis: aioredis.Redis

    def _key(self, kind: str, name: str) -> str:
        raise NotImplementedError  # provided by RedisBroker

    def _register_store_scripts(self) -> None:
        self._presence_add = self._redis.register_script(redis_lua.PRESENCE_ADD)
        self._presence_remove = self._redis.register_script(redis_lua.PRESENCE_REMOVE)
        self._presence_sweep = self._redis.register_script(redis_lua.PRESENCE_SWEEP)
        self._presence_page = self._redis.register_script(redis_lua.PRESENCE_PAGE)
        self._count_in_window = self._redis.register_script(redis_lua.COUNT_IN_WINDOW)
        self._tally_apply = self._redis.register_script(redis_lua.TALLY_APPLY)
        self._tally_replace = self._redis.register_script(redis_lua.TALLY_REPLACE)
        self._tally_watermark = self._redis.register_script(redis_lua.TALLY_WATERMARK)
        self._sorted_top_joined = self._redis.register_script(redis_lua.SORTED_TOP_JOINED)

    # --- presence -----------------------------------------------------------------------------
    def _presence_keys(self, channel: str, user_id: int) -> list[str]:
        return [
            self._key("presence", channel),
            self._presence_mine(channel) + str(user_id),
            self._key("presence-users", channel),
        ]

    def _presence_mine(self, channel: str) -> str:
        """The prefix of the per-user entry keys (the user id follows)."""
        return self._key("presence-user", channel) + ":"

    async def presence_add(self, channel: str, entry: PresenceEntry, ttl: float) -> bool:
        now = time.time()
        first = await self._presence_add(
            keys=self._presence_keys(channel, entry.user_id),
            args=[entry.member(), now + ttl, now, entry.user_id, entry.name],
        )
        return bool(first)

    async def presence_refresh(self, entries: list[tuple[str, PresenceEntry]], ttl: float) -> None:
        if not entries:
            return
        expiry = time.time() + ttl
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel, entry in entries:
                # XX: never resurrect an entry someone already swept as gone.
                for key in self._presence_keys(channel, entry.user_id)[:2]:
                    pipe.zadd(key, {entry.member(): expiry}, xx=True)
            await pipe.execute()

    async def presence_remove(self, channel: str, entry: PresenceEntry) -> bool:
        last = await self._presence_remove(
            keys=self._presence_keys(channel, entry.user_id),
            args=[entry.member(), time.time(), entry.user_id],
        )
        return bool(last)

    async def presence_list(self, channel: str) -> list[PresenceEntry]:
        members = await self._redis.zrangebyscore(
            self._key("presence", channel), f"({time.time()}", "+inf"
        )
        return [PresenceEntry.parse(as_bytes(m).decode()) for m in members]

    async def presence_page(self, channel: str, limit: int) -> PresencePage:
        found = await self._presence_page(
            keys=[self._key("presence-users", channel)],
            args=[time.time(), limit, self._presence_mine(channel)],
        )
        users = []
        for raw in found[1:]:
            uid, name = as_bytes(raw).decode().split("|", 1)
            users.append((int(uid), name))
        return PresencePage(users=users, total=int(found[0]))

    async def presence_online(self, channel: str, user_id: int) -> bool:
        key = self._presence_mine(channel) + str(user_id)
        return int(await self._redis.zcount(key, f"({time.time()}", "+inf")) > 0

    async def presence_sweep(self, channel: str) -> list[PresenceEntry]:
        gone = await self._presence_sweep(
            keys=[self._key("presence", channel), self._key("presence-users", channel)],
            args=[time.time(), self._presence_mine(channel)],
        )
        return [PresenceEntry.parse(as_bytes(m).decode()) for m in gone]

    # --- keys -----------------------------------------------------------------------------------
    async def set_key(self, key: str, value: str, ttl: float) -> None:
        await self._redis.set(self._key("kv", key), value, px=_ms(ttl))

    async def set_keys(self, keys: Sequence[str], value: str, ttl: float) -> None:
        if not keys:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(self._key("kv", key), value, px=_ms(ttl))
            await pipe.execute()

    async def claim_key(self, key: str, value: str, ttl: float) -> bool:
        return bool(await self._redis.set(self._key("kv", key), value, px=_ms(ttl), nx=True))

    async def claim_keys(self, keys: Sequence[str], value: str, ttl: float) -> list[bool]:
        if not keys:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(self._key("kv", key), value, px=_ms(ttl), nx=True)
            return [bool(r) for r in await pipe.execute()]

    async def take_key(self, key: str) -> str | None:
        value = await self._redis.getdel(self._key("kv", key))
        return as_bytes(value).decode() if value is not None else None

    async def has_key(self, key: str) -> bool:
        return bool(await self._redis.exists(self._key("kv", key)))

    async def count_key(self, key: str, window: float) -> int:
        return int(await self._count_in_window(keys=[self._key("kv", key)], args=[_ms(window)]))

    # --- sorted sets ----------------------------------------------------------------------------
    async def sorted_add(self, key: str, scores: Mapping[str, float]) -> None:
        if scores:
            await self._redis.zadd(self._key("zset", key), dict(scores))

    async def sorted_top(self, key: str, offset: int, limit: int) -> list[tuple[str, float]]:
        if limit <= 0:
            return []
        zset, stop = self._key("zset", key), offset + limit - 1
        count, joined = await self._sorted_top_joined(keys=[zset], args=[offset, stop])
        if int(count) == 0:
            return []
        parts = as_bytes(joined).decode().split("\n")
        if len(parts) == int(count):
            return [(m, float(s)) for m, s in zip(parts[::2], parts[1::2], strict=True)]
        # A member holding a newline split apart: read the replies one by one instead.
        rows = cast(
            "list[tuple[bytes, float]]",
            await self._redis.zrevrange(zset, offset, stop, withscores=True),
        )
        return [(as_bytes(m).decode(), float(s)) for m, s in rows]

    async def sorted_rank(self, key: str, member: str) -> tuple[int, float] | None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrevrank(self._key("zset", key), member)
            pipe.zscore(self._key("zset", key), member)
            rank, score = await pipe.execute()
        if rank is None or score is None:
            return None
        return int(rank), float(score)

    async def sorted_count(self, key: str) -> int:
        return int(await self._redis.zcard(self._key("zset", key)))

    async def sorted_replace(self, key: str, scores: Mapping[str, float]) -> None:
        # MULTI/EXEC: no reader sees the set half-built (or missing between DEL and ZADD).
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key("zset", key))
            if scores:
                pipe.zadd(self._key("zset", key), dict(scores))
            await pipe.execute()

    async def sorted_exists(self, key: str) -> bool:
        return bool(await self._redis.exists(self._key("zset", key)))

    async def sorted_delete(self, key: str) -> None:
        await self._redis.delete(self._key("zset", key), self._key("zset-counts", key))

    def _tally_keys(self, key: str) -> list[str]:
        return [
            self._key("zset", key),
            self._key("zset-wm", key),
            self._key("zset-above", key),
            self._key("zset-counts", key),
        ]

    async def tally_apply_many(
        self, span: int, limit: int, changes: Mapping[str, Sequence[Tally]]
    ) -> dict[str, int | None]:
        # One round trip. By hash, not through the registered Script: redis-py's pipeline
        # sends SCRIPT EXISTS for registered scripts first, a second round trip per call.
        keys = list(changes)
        calls: list[list[str | int]] = []
        for key in keys:
            call: list[str | int] = [*self._tally_keys(key), span, limit]
            for c in changes[key]:
                call += [c.seq, c.member, c.points, c.rest, c.correct, c.wrong]
            calls.append(call)
        try:
            replies = await self._evalsha_pipelined(self._tally_apply.sha, 4, calls)
        except NoScriptError:
            # A Redis without the script (fresh, restarted, flushed): load it and run them
            # all again. A change applied twice counts once (its seq is at or below the
            # watermark, or already above it), so a call that did run is harmless.
            await self._redis.script_load(redis_lua.TALLY_APPLY)
            replies = await self._evalsha_pipelined(self._tally_apply.sha, 4, calls)
        return {key: None if int(r) < 0 else int(r) for key, r in zip(keys, replies, strict=True)}

    async def _evalsha_pipelined(
        self, sha: str, nkeys: int, calls: Sequence[Sequence[str | int]]
    ) -> list[Any]:
        """One EVALSHA per call (its keys, then its args) in one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for call in calls:
                pipe.evalsha(sha, nkeys, *call)
            replies: list[Any] = await pipe.execute()
            return replies

    async def tally_replace(
        self,
        key: str,
        seq: int,
        span: int,
        limit: int,
        scores: Mapping[str, int],
        counts: Mapping[str, tuple[int, int]] | None = None,
    ) -> bool:
        args: list[str | int] = [seq, span, limit]
        for member, score in scores.items():
            right, wrong = (counts or {}).get(member, (0, 0))
            args += [member, score, right, wrong]
        return bool(await self._tally_replace(keys=self._tally_keys(key), args=args))

    async def tally_counts(self, key: str, members: Sequence[str]) -> dict[str, tuple[int, int]]:
        if not members:
            return {}
        fields = [f"{m}|{kind}" for m in members for kind in ("c", "w")]
        values = await self._redis.hmget(self._key("zset-counts", key), fields)
        found: dict[str, tuple[int, int]] = {}
        for i, member in enumerate(members):
            right, wrong = values[2 * i], values[2 * i + 1]
            if right is not None and wrong is not None:
                found[member] = (int(right), int(wrong))
        return found

    async def tally_watermark(self, key: str) -> int | None:
        value = int(await self._tally_watermark(keys=self._tally_keys(key), args=[]))
        return None if value < 0 else value

    # --- streams --------------------------------------------------------------------------------
    async def stream_append(self, key: str, data: bytes, *, maxlen: int, ttl: float) -> str:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self._key("stream", key), {"d": data}, maxlen=maxlen, approximate=False)
            pipe.pexpire(self._key("stream", key), _ms(ttl))
            entry_id, _ = await pipe.execute()
        return as_bytes(entry_id).decode()

    async def stream_read(
        self, key: str, after: str | None = None, count: int | None = None
    ) -> list[tuple[str, bytes]]:
        start = f"({after}" if after is not None else "-"
        rows = cast(
            "list[tuple[bytes, dict[bytes, bytes]]]",
            await self._redis.xrange(self._key("stream", key), start, "+", count=count),
        )
        return [(as_bytes(entry_id).decode(), as_bytes(fields[b"d"])) for entry_id, fields in rows]

    async def stream_delete(self, key: str) -> None:
        await self._redis.delete(self._key("stream", key))


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def as_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"unexpected Redis reply {type(value).__name__}")
