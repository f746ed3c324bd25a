"""BotService: what transports call for bot conversations (and every room's `send`).

`post_message` is chat.post_message for every room; in a `bot_conversation` it first
enforces the bot's rules, then starts the answer on THIS worker (the one that stored the
user's message) as a supervised task that no connection owns:

    validate -> owner check -> (client_id seen: a retry, answered as chat does)
    -> red-flag screen (+ the offline engine with the conversation's history):
       a hit stores the message and the emergency reply at once; no model is called
    -> grant (one answer in flight per conversation, else Conflict; nothing stored)
    -> quota (count_key, atomic across workers, else RateLimited; nothing stored)
    -> store the user's message (ack) -> generate (domain/bot/generation.py)

`cancel` marks an answer stopped in Redis (any worker); `sweep` (every worker, every few
seconds) finalizes answers whose generator's lease expired as `interrupted`, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker import Broker
from domain import chat, metrics, rooms
from domain.access import require_member
from domain.bot import live, store
from domain.bot.config import BotConfig
from domain.bot.events import BOT, BotMessageEvent
from domain.bot.generation import Generation, Job, Runtime, closing_body, publish_end, triage_info
from domain.bot.providers import OfflineProvider, Prompt, Provider, Turn
from domain.errors import Conflict, NotFound, RateLimited
from domain.events import UserRef
from domain.triage import TriageResult, Urgency, emergency_message, screen, triage
from domain.triage.specialties import Code, specialty
from models import RoomKind
from models.messages import find_by_client_id

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
        self.offline = OfflineProvider(config.offline_pace)
        self.provider: Provider = model or self.offline
        self._kinds: dict[int, RoomKind] = {}  # a room's kind never changes
        self._tasks: set[asyncio.Task[None]] = set()

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
        if await self._kind(room_id) is not RoomKind.bot_conversation:
            return await chat.post_message(
                self.sessions, self.rt.broker, author, room_id, client_id, body, max_chars=max_chars
            )
        text = chat.check_message(body, client_id, max_chars=max_chars)
        post = self._poster(author, room_id, client_id, text, max_chars)
        async with self.sessions() as session:
            await require_member(session, room_id, author.id)
            if client_id is not None and await find_by_client_id(session, author.id, client_id):
                return await post()  # a retry: acked with the first seq, nothing generated
            current = await store.in_flight(session, room_id)
            history = await store.context(
                session, room_id, store.SEQ_MAX, self.rt.config.context_messages
            )
        prompt = self._prompt(text, history)
        if screen(text).hit or prompt.offline.urgency is Urgency.emergency:
            # Safety over the one-answer rule: an emergency is never refused. The answer in
            # flight is cancelled (its partial text kept) and the emergency reply goes out
            # at once; no model is called for this message.
            if current is not None:
                with contextlib.suppress(Conflict, NotFound):  # it may just have ended
                    await self.cancel(author.id, room_id, current.id)
            return await self._emergency(post, room_id, prompt.offline)
        stream_id = f"s-{secrets.token_hex(6)}"
        cfg = self.rt.config
        # The lease exists before the grant: a sweeper never sees a grant without one.
        await self.rt.broker.set_key(live.lease_key(stream_id), self.rt.broker.node, cfg.lease)
        await store.grant(
            self.sessions, stream_id, room_id, author.id, self.rt.broker.node, self.provider.name
        )
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
            return posted
        await store.attach(self.sessions, stream_id, posted.event.seq)
        job = Job(stream_id, room_id, posted.event.seq, self.provider, prompt)
        self._start(Generation(self.rt, job))
        return posted

    def _poster(self, author: UserRef, room_id: int, client_id: str | None, text: str,
                max_chars: int) -> Post:  # fmt: skip
        async def post() -> chat.Posted:
            return await chat.post_message(
                self.sessions, self.rt.broker, author, room_id, client_id, text, max_chars=max_chars
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
        stored = await store.insert_bot_message(
            self.sessions, room_id, posted.event.seq, body, info
        )
        if stored is not None:
            await chat.publish_event(
                self.rt.broker,
                BotMessageEvent(
                    channel=f"room:{room_id}", seq=stored.seq, id=stored.id, author=BOT,
                    body=body, client_id=None, created_at=stored.created_at,
                    reply_to=posted.event.seq, triage=info,
                ),
            )  # fmt: skip
        return posted

    async def _kind(self, room_id: int) -> RoomKind | None:
        kind = self._kinds.get(room_id)
        if kind is None:
            async with self.sessions() as session:
                kind = await store.room_kind(session, room_id)
            if kind is not None:
                self._kinds[room_id] = kind
        return kind

    def _start(self, generation: Generation) -> None:
        task = self._spawn(generation.run(), name="bot-generation")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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

    # --- interrupted answers ----------------------------------------------------------------
    async def sweep(self) -> None:
        """Finalize, as `interrupted`, every answer whose generator stopped refreshing its
        lease (its worker died). Runs on every worker; store.finish lets one win."""
        cfg = self.rt.config
        async with self.sessions() as session:
            candidates = await store.stale(session, cfg.lease)
        for row in candidates:
            if await self.rt.broker.has_key(live.lease_key(row.id)):
                continue
            if not await self.rt.broker.claim_key(live.sweep_key(row.id), self.rt.broker.node, 60):
                continue  # another worker's sweeper has it
            # A generator that is alive after all (a long pause) must stop, not go on.
            await self.rt.broker.set_key(live.cancel_key(row.id), "interrupted", cfg.stream_ttl)
            if row.reply_to is None:  # died between grant and storing the user's message
                await store.release(self.sessions, row.id)
                continue
            await self._interrupted(row.id, row.room_id, row.reply_to, row.provider)

    async def _interrupted(
        self, stream_id: str, room_id: int, reply_to: int, provider: str
    ) -> None:
        shown, _next = await live.answered_text(self.rt.broker, room_id, stream_id)
        async with self.sessions() as session:
            history = await store.context(
                session, room_id, reply_to, self.rt.config.context_messages
            )
        message = next((b for bot, b, seq in history if seq == reply_to and not bot), "")
        earlier = [b for bot, b, seq in history if seq < reply_to and not bot]
        offline = triage(message, earlier)
        info = triage_info(offline.specialty, offline.urgency, provider, "interrupted")
        body = closing_body(shown, "interrupted")
        finished = await store.finish(
            self.sessions, stream_id, "interrupted", body, info, None, None
        )
        if finished is not None:
            stored, reply = finished
            await publish_end(
                self.rt, room_id, stream_id, "interrupted", stored, reply, body, info, None, None
            )

    # --- lifecycle -------------------------------------------------------------------------
    async def close(self) -> None:
        """Shutting down: every local answer ends now as `interrupted` (not after a lease)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)


def _busy(stream_id: str) -> Conflict:
    return Conflict(
        "The bot is still answering in this conversation; wait for it or cancel it.",
        details={"stream": stream_id},
    )
