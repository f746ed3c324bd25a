"""Which answers are alive: this worker's leases, and finalizing the answers of dead ones.

Every answer in flight has a lease, `bot:lease:{stream}` in Redis, set before its grant.
The worker that holds it (`Leases.hold`, from the grant until the answer ends or the
grant is undone) renews all of its leases in one round trip every lease/3 (`refresh`),
whatever its answers are doing: storing the user's message can wait seconds for a pooled
connection, a model can be silent, a Redis write can be slow. A generator's deltas do not
renew it, so a busy answer and a quiet one look the same.

`sweep` runs on every worker every `sweep_every`. An unfinished grant older than a lease
whose lease is missing on two sweeps in a row is taken for dead and finalized as
`interrupted`, once (a claim key, then store.finish). Two sweeps, not one: a worker whose
event loop lagged past one expiry under overload, or a Redis that restarted empty, gets
`sweep_every` more to renew it. So a dead worker's answer ends within
lease + 2 x sweep_every (10 s by default), and a live one is never interrupted for being
slow unless it stalls for that long.
"""

from __future__ import annotations

from domain.bot import live, store
from domain.bot.announce import publish_end
from domain.bot.closing import closing_body, triage_info
from domain.bot.runtime import Runtime
from domain.triage import triage


class Leases:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._held: set[str] = set()  # granted on this worker, not yet ended
        self._missing: set[str] = set()  # found without a lease by the last sweep

    def hold(self, stream_id: str) -> None:
        self._held.add(stream_id)

    def drop(self, stream_id: str) -> None:
        """The answer ended or its grant was undone: its lease may lapse."""
        self._held.discard(stream_id)

    def holds(self, stream_id: str) -> bool:
        return stream_id in self._held

    async def refresh(self) -> None:
        """Renew every lease this worker holds, in one round trip (none if it holds none).
        Raises what the broker raises; the caller's next run retries."""
        if self._held:
            keys = [live.lease_key(stream_id) for stream_id in self._held]
            await self.rt.broker.set_keys(keys, self.rt.broker.node, self.rt.config.lease)

    async def sweep(self) -> None:
        """Finalize, as `interrupted`, every answer whose lease two sweeps in a row found
        missing (its worker died). Runs on every worker; store.finish lets one win."""
        cfg, broker = self.rt.config, self.rt.broker
        async with self.rt.sessions() as session:
            candidates = await store.stale(session, cfg.lease)
        seen_missing, self._missing = self._missing, set()
        for row in candidates:
            if row.id in self._held:
                # Generated right here, so alive: a lease can only be missing because Redis
                # lost it (restarted empty). Put it back rather than interrupt the answer.
                await broker.set_key(live.lease_key(row.id), broker.node, cfg.lease)
                continue
            if await broker.has_key(live.lease_key(row.id)):
                continue
            if row.id not in seen_missing:
                self._missing.add(row.id)  # one miss: the next sweep decides
                continue
            if not await broker.claim_key(live.sweep_key(row.id), broker.node, 60):
                continue  # another worker's sweeper has it
            # A generator that is alive after all (a long pause) must stop, not go on.
            await broker.set_key(live.cancel_key(row.id), "interrupted", cfg.stream_ttl)
            if row.reply_to is None:  # died between grant and storing the user's message
                await store.release(self.rt.sessions, row.id)
                continue
            await self._interrupted(row.id, row.room_id, row.reply_to, row.provider)

    async def _interrupted(
        self, stream_id: str, room_id: int, reply_to: int, provider: str
    ) -> None:
        shown, _next = await live.answered_text(self.rt.broker, room_id, stream_id)
        async with self.rt.sessions() as session:
            history = await store.context(
                session, room_id, reply_to, self.rt.config.context_messages
            )
        message = next((b for bot, b, seq in history if seq == reply_to and not bot), "")
        earlier = [b for bot, b, seq in history if seq < reply_to and not bot]
        offline = triage(message, earlier)
        info = triage_info(offline.specialty, offline.urgency, provider, "interrupted")
        body = closing_body(shown, "interrupted")
        finished = await store.finish(
            self.rt.sessions, stream_id, "interrupted", body, info, None, None
        )
        if finished is not None:
            stored, reply = finished
            await publish_end(
                self.rt, room_id, stream_id, "interrupted", stored, reply, body, info, None, None
            )
