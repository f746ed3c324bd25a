"""BotService: what transports call for bot conversations (and every room's `send`).

`post_message` is chat.post_message for every room; in a `bot_conversation` it first
enforces the bot's rules, then starts the answer on THIS worker (the one that stored the
user's message) as a supervised task that no connection owns:

    validate -> member check: a doctor the conversation is shared with (domain/care)
       posts as in any room if the share is `participate` (Forbidden if `read`); the bot
       never answers a doctor
    -> (client_id seen: a retry, answered as chat does)
    -> red-flag screen (+ the offline engine with the conversation's history):
       a hit stores the message and the emergency reply at once; no model is called
    -> while a doctor participates, the bot answers only a message that addresses it
       (`@bot ...`, see `addressed`); any other message is stored as in any room
    -> grant (one answer in flight per conversation, else Conflict; nothing stored)
    -> quota (count_key, atomic across workers, else RateLimited; nothing stored)
    -> store the user's message (ack) -> generate (domain/bot/generation.py)

Every stored patient message's findings (the offline engine's reading) go into the
patient's symptom history (domain/care/symptoms.py).

`cancel` marks an answer stopped in Redis (any worker). Leases (domain/bot/leases.py):
`refresh_leases` renews this worker's every lease/3; `sweep` (every worker, every few
seconds) finalizes answers whose worker died as `interrupted`, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker import Broker
from domain import chat, metrics, rooms
from domain.access import require_member
from domain.bot import live, store
from domain.bot.closing import listed_doctors, triage_info
from domain.bot.config import BotConfig
from domain.bot.events import BOT, BotMessageEvent
from domain.bot.generation import Generation
from domain.bot.leases import Leases
from domain.bot.providers import OfflineProvider, Prompt, Provider, Turn
from domain.bot.runtime import Job, Runtime
from domain.care import shares, symptoms
from domain.errors import Conflict, Forbidden, NotFound, RateLimited
from domain.events import UserRef
from domain.notifications import Kind, Notifier
from domain.triage import TriageResult, Urgency, emergency_message, screen, triage
from domain.triage.specialties import Code, specialty
from models import MemberRole, RoomKind, ShareMode

log = logging.getLogger("parley.bot")

Post = Callable[[], Awaitable[chat.Posted]]
# Starts a supervised background task (domain/tasks.spawn, injected by the app: a
# failure is logged, a task is never garbage-collected mid-flight).
Spawner = Callable[..., "asyncio.Task[Any]"]


class BotService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        broker: Broker,
        config: BotConfig,
        spawn: Spawner,
        model: Provider | None = None,
    ) -> None:
        self._spawn = spawn
        self.rt = Runtime(sessions, broker, config)
        # Every room's sends go through it: a room's concurrent sends share one statement.
        self.intake = chat.MessageIntake(sessions, broker)
        self.notifier = Notifier(sessions, broker)
        self.offline = OfflineProvider(config.offline_pace)
        self.provider: Provider = model or self.offline
        self._kinds: dict[int, RoomKind] = {}  # a room's kind never changes
        # Compile the triage engine's thousands of patterns now, not in the first user's
        # answer on this worker (seconds of CPU that would stall every connection).
        triage("warm up")
        screen("warm up")
        self._tasks: set[asyncio.Task[None]] = set()
        self.leases = Leases(self.rt)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.rt.sessions

    # --- sending --------------------------------------------------------------------------
    async def post_message(
        self,
        author: UserRef,
        room_id: int,
        client_id: str | None,
        body: str,
        *,
        max_chars: int = chat.MAX_BODY_CHARS,
    ) -> chat.Posted:
        """chat.post_message, plus the bot's rules and answer in a bot conversation.

        Raises what chat.post_message raises, and Conflict (an answer is in flight) or
        RateLimited (quota) in a bot conversation; nothing is stored then. A message with
        red flags is the exception: it is always stored and answered with the emergency
        reply, and cancels an answer in flight."""
        kind = self._kinds.get(room_id)
        doctor, retry, waits, emergency = False, False, False, False
        owner: int | None = None
        current: str | None = None
        stream_id: str | None = None
        asked: str | None = None
        prompt: Prompt | None = None
        cfg = self.rt.config
        if kind is None or kind is RoomKind.bot_conversation:
            text = chat.check_message(body, client_id, max_chars=max_chars)
            post = self._poster(author, room_id, client_id, text, max_chars)
            # One session, few statements, read all a bot message needs (and a room's
            # kind, the first time this worker sees it) and take the grant: each checkout
            # is a wait when the pool is busy, each round trip holds the connection longer.
            async with self.sessions() as session:
                await store.reading(session)
                state = await store.send_state(session, room_id, author.id, client_id)
                kind = state.kind
                if kind is not None:
                    self._kinds[room_id] = kind
                if kind is RoomKind.bot_conversation:
                    if state.role is None:
                        await require_member(session, room_id, author.id)  # the precise error
                    doctor = state.role is MemberRole.doctor
                    if doctor:
                        mode = await shares.mode_of(session, room_id, author.id)
                        if mode is not ShareMode.participate:
                            raise Forbidden("This conversation is shared with you to read only.")
                        owner = await store.room_owner(session, room_id)
                    else:
                        retry, current = state.retry, state.current
                    if not doctor and not retry:
                        history = await store.context(
                            session, room_id, store.SEQ_MAX, cfg.context_messages
                        )
                        waits = state.doctor_participates
                        asked = addressed(text)
                        prompt = self._prompt(asked if asked is not None else text, history)
                        # The triage above screened `text` unless the message addresses
                        # the bot: then the whole message is screened too.
                        emergency = prompt.offline.urgency is Urgency.emergency or (
                            asked is not None and screen(text).hit
                        )
                    if prompt is not None and not emergency and not (waits and asked is None):
                        stream_id = f"s-{secrets.token_hex(6)}"
                        # The lease exists before the grant: a sweeper never sees a grant
                        # without one.
                        await self.rt.broker.set_key(
                            live.lease_key(stream_id), self.rt.broker.node, cfg.lease
                        )
                        await store.grant(
                            session, stream_id, room_id, author.id, self.rt.broker.node,
                            self.provider.name,
                        )  # fmt: skip
                        # From here until its generation ends (or the grant is undone),
                        # `refresh_leases` keeps the lease alive: storing the message can
                        # wait seconds for the pool, longer than a lease.
                        self.leases.hold(stream_id)
        if kind is not RoomKind.bot_conversation:
            return await chat.post_message(
                self.intake, author, room_id, client_id, body, max_chars=max_chars
            )
        # Posting happens outside the session: one pooled connection per request at a time.
        if doctor:
            return await self._doctor_post(post, author, room_id, owner)
        if retry or prompt is None:
            return await post()  # a retry: acked with the first seq, nothing generated
        if emergency:
            # Safety over the one-answer rule: an emergency is never refused. The answer in
            # flight is cancelled (its partial text kept) and the emergency reply goes out
            # at once; no model is called for this message.
            if current is not None:
                with contextlib.suppress(Conflict, NotFound):  # it may just have ended
                    await self.cancel(author.id, room_id, current)
            posted = await self._emergency(post, room_id, prompt.offline)
            await self._record(author.id, room_id, posted, prompt)
            return posted
        if stream_id is None:
            # A doctor takes part: the patient talks to them unless they ask the bot.
            posted = await post()
            await self._record(author.id, room_id, posted, prompt)
            return posted
        try:
            return await self._answer(post, author, stream_id, room_id, prompt)
        except BaseException:
            self.leases.drop(stream_id)  # no generation: the lease may lapse
            raise

    async def _answer(
        self, post: Post, author: UserRef, stream_id: str, room_id: int, prompt: Prompt
    ) -> chat.Posted:
        """The granted path: quota, store the user's message, start its answer."""
        cfg = self.rt.config
        try:
            used = await self.rt.broker.count_key(live.quota_key(author.id), cfg.quota_window)
            if used > cfg.quota:
                metrics.BOT_QUOTA_REFUSED.inc()
                raise RateLimited(
                    f"You can ask the bot {cfg.quota} times every {cfg.quota_window:g} seconds.",
                    details={"limit": cfg.quota, "window_seconds": cfg.quota_window},
                )
            posted = await post()
        except BaseException:
            await store.release(self.sessions, stream_id)
            raise
        if not posted.created:  # a concurrent retry won the race: it generates, not us
            await store.release(self.sessions, stream_id)
            self.leases.drop(stream_id)
            return posted
        # The grant's message and the findings: one checkout, two autocommit statements.
        async with self.sessions() as session:
            await store.reading(session)
            await store.attach(session, stream_id, posted.event.seq)
            await symptoms.record_on(
                session, author.id, room_id, posted.event.seq, prompt.offline.findings
            )
        job = Job(stream_id, room_id, posted.event.seq, self.provider, prompt)
        self._start(Generation(self.rt, job))
        return posted

    async def _doctor_post(
        self, post: Post, author: UserRef, room_id: int, owner: int | None
    ) -> chat.Posted:
        """A participating doctor's message: stored as in any room (the bot answers the
        patient only), and the patient is notified (`doctor_replied`)."""
        posted = await post()
        if posted.created and owner is not None:
            doctor = {"id": author.id, "name": author.name}
            data = {"doctor": doctor, "seq": posted.event.seq}
            await self.notifier.notify([owner], Kind.doctor_replied, room_id, data)
        return posted

    async def _record(
        self, user_id: int, room_id: int, posted: chat.Posted, prompt: Prompt
    ) -> None:
        """The message's findings into the patient's symptom history (once, not on a retry)."""
        if posted.created:
            await symptoms.record(
                self.sessions, user_id, room_id, posted.event.seq, prompt.offline.findings
            )

    def _poster(self, author: UserRef, room_id: int, client_id: str | None, text: str,
                max_chars: int) -> Post:  # fmt: skip
        async def post() -> chat.Posted:
            return await chat.post_message(
                self.intake, author, room_id, client_id, text, max_chars=max_chars
            )

        return post

    def _prompt(self, text: str, history: list[tuple[bool, str, int]]) -> Prompt:
        """The windowed context (last K messages within a character budget) and the
        offline engine's reading of the new message given the earlier user messages."""
        turns: list[Turn] = []
        budget = self.rt.config.context_chars
        for from_bot, body, _seq in reversed(history):
            if len(body) > budget:
                break
            budget -= len(body)
            turns.append(Turn("assistant" if from_bot else "user", body))
        turns.reverse()
        earlier = [t.text for t in turns if t.role == "user"]
        return Prompt(history=turns, message=text, offline=triage(text, earlier))

    async def _emergency(self, post: Post, room_id: int, result: TriageResult) -> chat.Posted:
        """Store the user's message, then the emergency reply at once. No model call."""
        posted = await post()
        if not posted.created:
            return posted
        flags = screen(posted.event.body).flags or result.red_flags
        body = emergency_message(flags)
        info = triage_info(
            specialty(Code.emergency_medicine), Urgency.emergency, "offline", "complete",
            tuple(f.label for f in flags),
        )  # fmt: skip
        doctors = await listed_doctors(self.rt, specialty(Code.emergency_medicine))
        stored = await store.insert_bot_message(
            self.sessions, room_id, posted.event.seq, body, info, doctors
        )
        if stored is not None:
            await chat.publish_event(
                self.rt.broker,
                BotMessageEvent(
                    channel=f"room:{room_id}", seq=stored.seq, id=stored.id, author=BOT,
                    body=body, client_id=None, created_at=stored.created_at,
                    reply_to=posted.event.seq, triage=info, doctors=doctors,
                ),
            )  # fmt: skip
        return posted

    def _start(self, generation: Generation) -> None:
        stream_id = generation.job.stream
        task = self._spawn(generation.run(), name="bot-generation")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self.leases.drop(stream_id))

    # --- cancel ---------------------------------------------------------------------------
    async def cancel(self, user_id: int, room_id: int, stream_id: str) -> None:
        """Stop an answer in flight: from any worker, it stops within one window.

        Raises NotFound/Forbidden (not the owner's conversation, or no such answer in it)
        or Conflict (the answer already ended)."""
        async with self.sessions() as session:
            await require_member(session, room_id, user_id)
            row = await store.stream_row(session, stream_id)
        if row is None or row.room_id != room_id:
            raise NotFound(f"There is no answer {stream_id!r} in room {room_id}.")
        if row.finished_at is not None:
            raise Conflict(f"The answer {stream_id!r} has already ended ({row.status}).")
        await self.rt.broker.set_key(
            live.cancel_key(stream_id), "cancel", self.rt.config.stream_ttl
        )

    # --- deleting a conversation -----------------------------------------------------------
    async def delete_room(self, session: AsyncSession, room_id: int, user_id: int) -> None:
        """rooms.delete_room, and any answer in flight in it is stopped and forgotten."""
        current = await store.in_flight(session, room_id)
        await rooms.delete_room(session, room_id, user_id, broker=self.rt.broker)
        self._kinds.pop(room_id, None)
        if current is not None:
            with contextlib.suppress(Exception):  # its generator also stops at finish
                await self.rt.broker.set_key(
                    live.cancel_key(current.id), "deleted", self.rt.config.stream_ttl
                )
        with contextlib.suppress(Exception):
            await self.rt.broker.stream_delete(live.answer_key(room_id))

    # --- leases ---------------------------------------------------------------------------
    async def refresh_leases(self) -> None:
        """Renew this worker's leases (every lease/3; domain/bot/leases.py)."""
        await self.leases.refresh()

    async def sweep(self) -> None:
        """Finalize dead workers' answers as `interrupted` (every sweep_every)."""
        await self.leases.sweep()

    # --- lifecycle -------------------------------------------------------------------------
    async def close(self) -> None:
        """Shutting down: every local answer ends now as `interrupted` (not after a lease)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)


_ADDRESS = re.compile(r"\s*@(?:bot|symptom2specialist)\b[\s,:;.!-]*", re.IGNORECASE)


def addressed(text: str) -> str | None:
    """The message without its address if it addresses the bot (`@bot` or
    `@Symptom2Specialist` at its start, any case), else None."""
    match = _ADDRESS.match(text)
    return text[match.end() :] if match else None


def _busy(stream_id: str) -> Conflict:
    return Conflict(
        "The bot is still answering in this conversation; wait for it or cancel it.",
        details={"stream": stream_id},
    )
