"""One answer, from `stream_start` to the durable message, apart from any connection.

Two tasks per answer:
- the producer reads the provider's pieces under the first-token / idle / total timeouts
  and appends the text to show to `pending` (plain list appends: no I/O per token), then
  wakes the pump;
- the pump throttles: `pending` goes out as ONE delta at once if the previous delta left
  at least `BotConfig.window` ago, else at previous + window (leading edge: a token that
  arrives after a quiet spell is not held back; a fast model still gets at most one delta
  per window). A delta is one Redis round trip (`Broker.stream_publish`: appended to the
  answer's stream, then published on `room:{id}`, and the cancel key checked), awaited
  by the pump, never by the producer. With no text flowing, the pump checks the cancel
  key every `cancel_poll`. The lease is renewed by the worker, not here (leases.py).

So Redis sees at most one round trip per window per answer however fast tokens come, and
a cancel from any worker stops the producer at its next token (within `cancel_poll` when
the model is silent). If Redis is slow, deltas simply carry more text.

The end is `finish`: the body (for `complete`, exactly the joined deltas), the triage
verdict, provider and usage go into ONE durable message by store.finish, which succeeds
once per answer; only its winner publishes `stream_end` and the `message`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from domain import metrics
from domain.bot import live, store
from domain.bot.announce import emit, publish_end
from domain.bot.closing import closing_body, doctors_on, triage_info
from domain.bot.events import DeltaEncoder, Status, StreamError, StreamStartEvent, UsageInfo
from domain.bot.providers import ProviderError, Usage
from domain.bot.runtime import Job, Runtime
from domain.bot.verdict import Verdict, VerdictFilter, ending, settle
from domain.notifications import Kind, Notifier

log = logging.getLogger("parley.bot")


class Generation:
    def __init__(self, rt: Runtime, job: Job) -> None:
        self.rt, self.job = rt, job
        self.channel = f"room:{job.room_id}"
        self.index = 0
        self.shown: list[str] = []
        self.pending: list[str] = []
        self.usage: Usage | None = None
        self.pieces = 0
        self.filter = VerdictFilter() if job.provider.strict_verdict else None
        self.deltas = DeltaEncoder(rt.broker.node, self.channel, job.stream)
        self.wake = asyncio.Event()  # set by the producer: text is pending, or it ended
        self.lost = False  # a Redis write failed since the lease was last set here
        self.meter = metrics.LlmStream(job.provider.name)

    async def run(self) -> None:
        """Generate and finalize. Cancelled (worker shutting down): finalize as
        interrupted, then re-raise."""
        start = StreamStartEvent(
            channel=self.channel, stream=self.job.stream, reply_to=self.job.reply_to
        )
        # The model is asked first: its first token takes far longer than these writes,
        # and the pump sends nothing before them.
        self.meter.start()
        producer = asyncio.create_task(self._produce(), name="bot-producer")
        try:
            with contextlib.suppress(Exception):  # a new answer: the previous log is done
                await self.rt.broker.stream_delete(live.answer_key(self.job.room_id))
            await emit(self.rt, self.job.room_id, start, ttl=self.rt.config.stream_ttl)
            status: Status = await self._pump(producer)
        except asyncio.CancelledError:
            producer.cancel()
            await asyncio.shield(self._finish("interrupted", None))
            raise
        error = None if status == "cancelled" else self._outcome(producer)
        await self._finish("failed" if error is not None else status, error)

    def _outcome(self, producer: asyncio.Task[StreamError | None]) -> StreamError | None:
        try:
            return producer.result()
        except Exception as exc:  # a bug: logged, and the answer still ends
            log.error("bot producer failed", exc_info=exc, extra={"error": type(exc).__name__})
            return StreamError(code="internal", reason="internal", message="Something went wrong.")

    # --- producing ----------------------------------------------------------------------
    async def _produce(self) -> StreamError | None:
        cfg = self.rt.config
        loop = asyncio.get_running_loop()
        deadline = loop.time() + cfg.total_timeout
        try:
            async with contextlib.aclosing(self.job.provider.stream(self.job.prompt)) as pieces:
                it = aiter(pieces)
                while True:
                    wait, reason = (
                        (cfg.idle_timeout, "idle_timeout")
                        if self.pieces
                        else (cfg.first_token_timeout, "first_token_timeout")
                    )
                    left = deadline - loop.time()
                    if left < wait:
                        wait, reason = max(0.0, left), "total_timeout"
                    try:
                        async with asyncio.timeout(wait):
                            piece = await anext(it)
                    except StopAsyncIteration:
                        break
                    except TimeoutError:
                        return StreamError(
                            code="unavailable",
                            reason=reason,
                            message="The AI model took too long to answer; please try again.",
                        )
                    if piece.usage is not None:
                        self.usage = piece.usage
                    if piece.text:
                        self.meter.piece()
                        self.pieces += 1
                        self._push(self.filter.feed(piece.text) if self.filter else piece.text)
        except ProviderError as exc:
            # The kind of failure only (never the upstream's words): without it a failed
            # answer in a bench or in production says nothing about why.
            cause = type(exc.__cause__).__name__ if exc.__cause__ is not None else None
            log.warning("bot answer failed", extra={"reason": exc.reason, "error": cause})
            return StreamError(code=exc.code, reason=exc.reason, message=exc.message)
        if self.filter is not None:
            self._push(self.filter.close())
        return None

    def _push(self, text: str) -> None:
        if text:
            self.pending.append(text)
            self.wake.set()

    # --- the throttle ------------------------------------------------------------------
    async def _pump(self, producer: asyncio.Task[StreamError | None]) -> Status:
        cfg = self.rt.config
        loop = asyncio.get_running_loop()
        producer.add_done_callback(lambda _: self.wake.set())
        last = -cfg.window  # when the previous delta went out
        next_poll = loop.time() + cfg.cancel_poll
        while True:
            if producer.done():
                await self._flush()
                return "complete"
            now = loop.time()
            if self.pending:
                if now < last + cfg.window:  # throttled: more text may join this delta
                    await asyncio.wait({producer}, timeout=last + cfg.window - now)
                    continue
                last = now
                next_poll = now + cfg.cancel_poll
                if await self._flush():
                    return await self._cancelled(producer)
            elif now >= next_poll:
                next_poll = now + cfg.cancel_poll
                if await self._stopped():
                    return await self._cancelled(producer)
            if self.lost:
                # Right after a failed write, not at the next lease renewal (leases.py): a
                # Redis that restarted empty lost the lease, and other workers' sweepers
                # must not take this answer for dead.
                # Redis down: the sweepers cannot see it expire either; finish decides.
                with contextlib.suppress(Exception):
                    await self.rt.broker.set_key(
                        live.lease_key(self.job.stream), self.rt.broker.node, cfg.lease
                    )
                    self.lost = False
            if not self.pending and not producer.done():
                self.wake.clear()
                wait = next_poll - loop.time()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, wait)):
                        await self.wake.wait()

    async def _cancelled(self, producer: asyncio.Task[StreamError | None]) -> Status:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer
        return "cancelled"

    async def _stopped(self) -> bool:
        try:
            return await self.rt.broker.has_key(live.cancel_key(self.job.stream))
        except Exception:  # noqa: BLE001 - Redis down: nobody could have cancelled
            return False

    async def _flush(self) -> bool:
        """Send `pending` as one delta; True if the answer was cancelled meanwhile (read
        in the same round trip). A Redis failure is logged and the answer goes on: the
        text is in `shown`, so the durable message has it."""
        if not self.pending:
            return False
        text = "".join(self.pending)
        self.pending.clear()
        self.shown.append(text)
        envelope = self.deltas.envelope(self.index, text)
        self.index += 1
        cfg = self.rt.config
        try:
            return await self.rt.broker.stream_publish(
                live.answer_key(self.job.room_id), self.channel, envelope,
                maxlen=cfg.stream_maxlen, ttl=cfg.stream_ttl,
                flag=live.cancel_key(self.job.stream),
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - see the docstring
            log.warning("bot stream event not delivered", extra={"error": type(exc).__name__})
            self.lost = True
            return False

    # --- the end ------------------------------------------------------------------------
    def _verdict(self) -> Verdict:
        offline = self.job.prompt.offline
        if self.filter is None:
            return Verdict(offline.specialty, offline.urgency, True)
        return settle(self.filter.line, offline)

    def _usage(self) -> UsageInfo | None:
        if self.usage is not None:
            u = self.usage
            return UsageInfo(
                prompt_tokens=u.prompt_tokens,
                completion_tokens=u.completion_tokens,
                total_tokens=u.total_tokens,
            )
        if self.filter is None:
            return None  # the offline engine spends no tokens
        return UsageInfo(completion_tokens=self.pieces, estimated=True)

    async def _finish(self, status: Status, error: StreamError | None) -> None:
        self.meter.end()
        self.pending.clear()  # after a cancel: nothing more is shown than was sent
        verdict = self._verdict()
        shown = "".join(self.shown)
        if status == "complete":
            tail = ending(shown, verdict) if self.filter is not None else ""
            if tail:
                self.pending.append(tail)
                await self._flush()
            body = shown + tail
        else:
            body = closing_body(shown, status)
        triage = triage_info(verdict.specialty, verdict.urgency, self.job.provider.name, status)
        usage = self._usage()
        # The doctors, the durable answer and the owner: one checkout, three autocommit
        # statements (were three checkouts and seven round trips, decision 0035).
        async with self.rt.sessions() as session:
            await store.reading(session)
            doctors = await doctors_on(session, verdict.specialty) if status == "complete" else None
            finished = await store.finish_on(
                session, self.job.stream, status, body, triage, usage, error, doctors
            )
            owner = await store.room_owner(session, self.job.room_id) if finished else None
        with contextlib.suppress(Exception):
            await self.rt.broker.take_key(live.lease_key(self.job.stream))
        if finished is None:
            # Finalized by someone else (a sweeper thought this worker dead) or the
            # conversation was deleted: whoever finished it told the subscribers.
            return
        stored, reply_to = finished
        # Who is away is read BEFORE the answer is published: a watcher that sees the
        # answer and leaves at once was watching when it finished, and is not notified.
        away = await self._away(owner)
        await publish_end(
            self.rt, self.job.room_id, self.job.stream, status, stored, reply_to, body, triage,
            usage, error, doctors,
        )  # fmt: skip
        if away is not None:
            data = {"seq": stored.seq, "status": status}
            await self._notifier.notify([away], Kind.answer_finished, self.job.room_id, data)

    async def _away(self, owner: int | None) -> int | None:
        """The owner, if no connection of theirs is subscribed to the room now."""
        if owner is None or await self._notifier.watching(owner, f"room:{self.job.room_id}"):
            return None
        return owner

    @property
    def _notifier(self) -> Notifier:
        return Notifier(self.rt.sessions, self.rt.broker)
