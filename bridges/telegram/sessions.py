"""Acting for linked Telegram users: one Parley connection per active user.

A `UserSession` holds a `ParleyClient` authenticated as that user (tokens from the
service, `LinkedUserTokens`), follows the user's current bot conversation and shows its
events in Telegram. The client reconnects and resumes by itself; the session resumes
across bridge restarts from the stored delivered `seq` (state.py).

Deliveries of final texts run in their own tasks so that reading never waits on
Telegram: ordinary answers go out in order (one at a time per user), an emergency reply
goes out at once, ahead of them. The delivered mark only moves past a `seq` once every
message up to it has reached Telegram. Closing a session lets the event being read and
the deliveries in flight finish first (stopping.py), so a graceful restart sends no final
text twice.

`Sessions` bounds the number of open sessions (`max_sessions`), closing the least recently
used idle one when a new user needs a connection.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Coroutine
from typing import Any

from aiogram.exceptions import TelegramAPIError

from bridges.telegram.answers import Answer, send_new
from bridges.telegram.pacing import Telegram
from bridges.telegram.settings import BridgeSettings
from bridges.telegram.state import BridgeState, ChatState
from bridges.telegram.stopping import InHand
from client import (
    AuthenticationFailed,
    Delta,
    LinkedUserTokens,
    MessageEvent,
    ParleyClient,
    ParleyEvent,
    Reset,
    ServiceApi,
    StreamEnd,
    StreamStart,
    Subscription,
)

log = logging.getLogger("parley.telegram")


class Watermark:
    """The highest seq such that every durable message up to it was delivered."""

    def __init__(self, start: int) -> None:
        self.value = start
        self._pending: set[int] = set()
        self._done: set[int] = set()

    def begin(self, seq: int) -> None:
        self._pending.add(seq)

    def end(self, seq: int) -> int:
        self._pending.discard(seq)
        self._done.add(seq)
        floor = min(self._pending, default=None)
        ready = [s for s in self._done if floor is None or s < floor]
        if ready:
            self.value = max(self.value, *ready)
            self._done.difference_update(ready)
        return self.value


class UserSession:
    def __init__(
        self,
        external_id: str,
        api: ServiceApi,
        tg: Telegram,
        state: BridgeState,
        settings: BridgeSettings,
    ) -> None:
        self.external_id = external_id
        self.api = api
        self.tg = tg
        self.state = state
        self.settings = settings
        self.client = ParleyClient(settings.ws_url, LinkedUserTokens(api, external_id))
        self.chat = ChatState(external_id, None, None, None)
        self.answers: dict[str, Answer] = {}  # live answers by stream id
        self._by_reply: dict[int, Answer] = {}  # ... and by the seq they answer
        self._reader: asyncio.Task[None] | None = None
        self._reading = InHand()  # the event the reader is showing
        self._deliveries = InHand()  # final texts on their way to Telegram
        self._in_order = asyncio.Lock()
        self._mark = Watermark(0)

    @property
    def channel(self) -> str | None:
        return f"room:{self.chat.room_id}" if self.chat.room_id else None

    @property
    def busy(self) -> bool:
        return bool(self.answers) or bool(self._deliveries)

    async def start(self) -> None:
        self.chat = await self.state.chat(self.external_id)
        await self.client.start()
        if self.chat.room_id is not None:
            await self._follow(self.chat.delivered_seq)

    async def close(self) -> None:
        # The reader first (its event in hand may start an answer), then the live answers,
        # then the final texts in flight: each finishes, bounded, rather than being cut
        # between reaching Telegram and being recorded.
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        drain = self.settings.stop_drain_seconds
        await self._reading.finish(drain)
        for answer in list(self.answers.values()):
            await answer.abandon()
        await self._deliveries.finish(drain)
        await self.client.close()

    async def new_conversation(self, chat_id: int) -> int:
        """Start a new bot conversation; answers go to `chat_id`."""
        room = await self.api.as_user(
            self.external_id, "POST", "/rooms", {"kind": "bot_conversation"}
        )
        if self.channel is not None:
            await self.client.unsubscribe(self.channel)
        self.chat.room_id, self.chat.chat_id, self.chat.delivered_seq = room["id"], chat_id, 0
        await self.state.save_chat(self.chat)
        await self._follow(0)
        room_id: int = room["id"]
        return room_id

    async def ask(self, chat_id: int, text: str) -> None:
        """Send `text` to the current conversation (a new one if there is none). Raises
        `ProtocolError` for a refusal (conflict: an answer in flight; rate_limited)."""
        if self.channel is None:
            await self.new_conversation(chat_id)
        elif self.chat.chat_id != chat_id:
            self.chat.chat_id = chat_id
            await self.state.save_chat(self.chat)
        assert self.channel is not None
        # `tg-`: the bridge's source tag, so it knows its own messages when relaying.
        await self.client.send(self.channel, text, client_id=f"tg-{uuid.uuid4().hex}")

    async def stop(self, draft_id: int | None = None) -> bool:
        """Cancel the answer in flight (the one showing `draft_id`, if given)."""
        for stream, answer in list(self.answers.items()):
            if draft_id is None or answer.draft_id == draft_id:
                assert self.channel is not None
                await self.client.cancel(self.channel, stream)
                return True
        return False

    async def _follow(self, since: int | None) -> None:
        assert self.channel is not None
        if self._reader is not None:
            self._reader.cancel()
        self._mark = Watermark(since or 0)
        sub = await self.client.subscribe(self.channel, since=since)
        self._reader = asyncio.create_task(self._read(sub), name=f"read-{self.external_id}")

    async def _read(self, sub: Subscription) -> None:
        async for event in sub:
            await self._reading.run(self._show(event))

    async def _show(self, event: ParleyEvent) -> None:
        try:
            await self._on(event)
        except Exception:  # a bad event or a Telegram refusal never stops the reader
            log.exception("could not show an event in Telegram")

    async def _on(self, event: ParleyEvent) -> None:
        chat_id = self.chat.chat_id
        if chat_id is None:
            return
        match event:
            case StreamStart():
                answer = Answer(
                    self.tg,
                    self.state,
                    chat_id,
                    event.stream,
                    drafts=self.settings.use_drafts,
                    draft_seconds=self.settings.draft_seconds,
                    draft_refresh_seconds=self.settings.draft_refresh_seconds,
                    reply_to=event.reply_to,
                )
                await answer.start()
                self.answers[event.stream] = answer
                if event.reply_to is not None:
                    self._by_reply[event.reply_to] = answer
            case Delta():
                if (live := self.answers.get(event.stream)) is not None:
                    live.add(event.text)
            case StreamEnd():
                self.answers.pop(event.stream, None)
            case MessageEvent():
                self._deliver(event, chat_id)
            case Reset():
                log.warning("conversation history was reset", extra={"channel": event.channel})
            case _:
                pass

    def _deliver(self, event: MessageEvent, chat_id: int) -> None:
        self._mark.begin(event.seq)
        if not event.author.bot:
            self._spawn(self._delivered(event.seq))  # the user's own words: nothing to show
            return
        answer = self._by_reply.pop(event.reply_to, None) if event.reply_to is not None else None
        for stream, live in list(self.answers.items()):
            if live is answer:
                del self.answers[stream]
        emphasis = event.triage.specialty.name if event.triage and event.triage.specialty else None
        emergency = event.triage is not None and event.triage.urgency == "emergency"

        async def deliver() -> None:
            nonlocal answer
            try:
                if answer is None and event.reply_to is not None:
                    answer = await self._stored_answer(chat_id, event.reply_to)
                if emergency and answer is None:
                    await send_new(self.tg, chat_id, event.body, emphasis)  # at once
                else:
                    async with self._in_order:
                        if answer is not None:
                            await answer.finish(event.body, emphasis)
                        else:
                            await send_new(self.tg, chat_id, event.body, emphasis)
            except TelegramAPIError as exc:
                log.error("telegram refused an answer", extra={"chat": chat_id, "error": str(exc)})
            await self._delivered(event.seq)

        self._spawn(deliver())

    async def _stored_answer(self, chat_id: int, reply_to: int) -> Answer | None:
        """The answer to `reply_to` whose messages a previous run of the bridge sent, when
        its stream is gone (interrupted while the bridge was down): the final text is
        edited into them instead of arriving as a second message."""
        stream = await self.state.stream_answering(chat_id, reply_to)
        if stream is None:
            return None
        answer = Answer(
            self.tg,
            self.state,
            chat_id,
            stream,
            drafts=False,
            draft_seconds=self.settings.draft_seconds,
            draft_refresh_seconds=self.settings.draft_refresh_seconds,
            reply_to=reply_to,
        )
        await answer.start()
        return answer

    async def _delivered(self, seq: int) -> None:
        await self.state.delivered(self.external_id, self._mark.end(seq))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._deliveries.spawn(coro)


class Sessions:
    """The open sessions, at most `max_sessions` (idle ones closed first)."""

    def __init__(
        self, api: ServiceApi, tg: Telegram, state: BridgeState, settings: BridgeSettings
    ) -> None:
        self.api = api
        self.tg = tg
        self.state = state
        self.settings = settings
        self._open: OrderedDict[str, UserSession] = OrderedDict()
        self._lock = asyncio.Lock()

    async def get(self, external_id: str) -> UserSession:
        async with self._lock:
            session = self._open.get(external_id)
            if session is not None:
                self._open.move_to_end(external_id)
                return session
            await self._make_room()
            session = UserSession(external_id, self.api, self.tg, self.state, self.settings)
            await session.start()
            self._open[external_id] = session
            return session

    async def resume_all(self, external_ids: list[str]) -> None:
        """Reopen the sessions of users who had a conversation before a restart, retrying
        with backoff while Parley is unreachable; a user no longer linked is skipped."""
        for external_id in external_ids[: self.settings.max_sessions]:
            delay = 1.0
            while True:
                try:
                    await self.get(external_id)
                    break
                except AuthenticationFailed:
                    log.info("a user is no longer linked", extra={"user": external_id})
                    break
                except Exception:  # noqa: BLE001 - Parley unreachable: try again later
                    log.warning("could not resume a user yet", extra={"user": external_id})
                    await asyncio.sleep(delay)
                    delay = min(30.0, delay * 2)

    async def drop(self, external_id: str) -> None:
        async with self._lock:
            session = self._open.pop(external_id, None)
        if session is not None:
            await session.close()

    async def close_all(self) -> None:
        async with self._lock:
            sessions = list(self._open.values())
            self._open.clear()
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)

    def find(self, external_id: str) -> UserSession | None:
        return self._open.get(external_id)

    async def _make_room(self) -> None:
        while len(self._open) >= self.settings.max_sessions:
            idle = next((k for k, s in self._open.items() if not s.busy), None)
            victim = idle if idle is not None else next(iter(self._open))
            await self._open.pop(victim).close()
