"""Telegram group chats bound to Parley study groups (docs/telegram.md, decision 0029).

A binding is made by a linked member whose role in the Parley group, as the server
reports it to that member's own token, is owner or admin. The bridge then reads the room
(and, on request, its live quiz and leaderboard) over ONE `ParleyClient` acting as that
member, the binding's *reader*, and posts in the Telegram chat:

- every room message not carrying the bridge's source tag (`client_id` starting `tg-`)
  as "**Author**: text". Messages with the tag came from Telegram and are never posted
  back, so nothing loops;
- the quiz and board views of quiz.py.

Guarantees: what was relayed is recorded (state.py `relayed`) and the room's delivered
`seq` is stored after each message, so a restarted bridge resumes from it and posts
nothing twice. A stop lets the event in hand finish, posted and recorded (stopping.py);
only a crash between Telegram accepting a message and the record being written posts
it again (at-least-once). Telegram's refusals are logged, never fatal.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import SendMessage

from bridges.telegram.pacing import Telegram
from bridges.telegram.quiz import BoardView, QuizView
from bridges.telegram.settings import BridgeSettings
from bridges.telegram.state import Binding, BridgeState
from bridges.telegram.stopping import InHand
from client import (
    AuthenticationFailed,
    LinkedUserTokens,
    MessageEvent,
    ParleyClient,
    ParleyEvent,
    ProtocolError,
    Reset,
    ServiceApi,
    Subscription,
)

log = logging.getLogger("parley.telegram")

SOURCE_TAG = "tg-"
MANAGERS = ("owner", "admin")


def relay_client_id(chat_id: int, message_id: int) -> str:
    """The client id of a Telegram message relayed into Parley. Deterministic, so an update
    Telegram delivers twice (a restart before it was confirmed) is stored once."""
    return f"{SOURCE_TAG}{chat_id}-{message_id}"


def is_relayed(event: MessageEvent) -> bool:
    return bool(event.client_id and event.client_id.startswith(SOURCE_TAG))


class BindRefused(Exception):
    """A `/bind` the server's answer does not allow; the message is for the user."""


class GroupRelay:
    """One bound chat: reads its room as the binding's reader and shows it in Telegram."""

    def __init__(
        self,
        binding: Binding,
        api: ServiceApi,
        tg: Telegram,
        state: BridgeState,
        settings: BridgeSettings,
    ) -> None:
        self.binding = binding
        self.api = api
        self.tg = tg
        self.state = state
        self.settings = settings
        self.client = ParleyClient(settings.ws_url, LinkedUserTokens(api, binding.reader))
        self.quiz = QuizView(binding.chat_id, tg, state)
        self.board = BoardView(binding.chat_id, binding.room_id, tg, state)
        self._readers: dict[str, asyncio.Task[None]] = {}
        self._in_hand = InHand()

    @property
    def chat_id(self) -> int:
        return self.binding.chat_id

    @property
    def room_channel(self) -> str:
        return f"room:{self.binding.room_id}"

    async def start(self) -> None:
        await self.client.start()
        await self._follow(self.room_channel, self.binding.delivered_seq, self._on_room)
        if self.binding.quiz_session is not None:
            await self.follow_quiz(self.binding.quiz_session)
        if await self.state.post(self.board.key) is not None:
            await self.board.resume()
            await self.follow_board()

    async def close(self) -> None:
        await self.board.close()
        for task in self._readers.values():
            task.cancel()
        await asyncio.gather(*self._readers.values(), return_exceptions=True)
        await self._in_hand.finish(self.settings.stop_drain_seconds)
        await self.client.close()

    async def live_session(self) -> int | None:
        """The group's running quiz session (the newest), asked as the reader."""
        sessions = await self.api.as_user(
            self.binding.reader, "GET", f"/rooms/{self.binding.room_id}/sessions"
        )
        running = [s for s in sessions if s["status"] == "running"]
        return int(running[0]["id"]) if running else None

    async def follow_quiz(self, session_id: int) -> bool:
        """Show session `session_id` (False if it is followed already)."""
        channel = f"quiz:{session_id}"
        if channel in self._readers:
            return False
        for old in [c for c in self._readers if c.startswith("quiz:")]:
            await self._unfollow(old)
        self.binding.quiz_session = session_id
        await self.state.follow_quiz(self.chat_id, session_id)
        await self._follow(channel, None, self._on_quiz)
        return True

    async def follow_board(self) -> None:
        channel = f"leaderboard:{self.binding.room_id}"
        if channel not in self._readers:
            await self._follow(channel, None, self.board.on_event)

    async def post_board(self) -> None:
        """A new board message, kept current from now on (the older one is left as is)."""
        page = await self.api.as_user(
            self.binding.reader, "GET", f"/rooms/{self.binding.room_id}/leaderboard"
        )
        await self.board.post(page)
        await self.follow_board()

    async def _on_quiz(self, event: ParleyEvent) -> None:
        if await self.quiz.on_event(event):  # the session ended
            self.binding.quiz_session = None
            await self.state.follow_quiz(self.chat_id, None)
            channel = event.channel
            task = self._readers.pop(channel, None)
            await self.client.unsubscribe(channel)
            if task is not None:  # this handler runs in its own task: it ends normally
                task.cancel()

    async def _on_room(self, event: ParleyEvent) -> None:
        match event:
            case MessageEvent() if is_relayed(event):
                pass  # it came from Telegram: never posted back
            case MessageEvent():
                room = self.binding.room_id
                if await self.state.relayed_message(room, event.seq) is None:
                    text = f"<b>{html.escape(event.author.name)}</b>: {html.escape(event.body)}"
                    sent = await self.tg.call(
                        self.chat_id,
                        SendMessage(chat_id=self.chat_id, text=text[:4096], parse_mode="HTML"),
                    )
                    if sent is not None:
                        await self.state.relay(room, event.seq, self.chat_id, sent.message_id)
            case Reset():
                # Older than the server's replay window: not relayed (said, not hidden).
                log.warning("group history gap not relayed", extra={"channel": event.channel})
                await self.state.group_delivered(self.chat_id, event.head)
                return
            case _:
                return
        await self.state.group_delivered(self.chat_id, event.seq)

    async def _follow(
        self,
        channel: str,
        since: int | None,
        handle: Callable[[ParleyEvent], Awaitable[None]],
    ) -> None:
        sub = await self.client.subscribe(channel, since=since)
        self._readers[channel] = asyncio.create_task(self._read(sub, handle))

    async def _unfollow(self, channel: str) -> None:
        task = self._readers.pop(channel, None)
        await self.client.unsubscribe(channel)
        if task is not None:
            task.cancel()

    async def _read(
        self, sub: Subscription, handle: Callable[[ParleyEvent], Awaitable[None]]
    ) -> None:
        async for event in sub:
            # Shielded: stopping the reader never cuts an event between its post and
            # its record (close() waits for it).
            await self._in_hand.run(self._show(handle, event))

    @staticmethod
    async def _show(handle: Callable[[ParleyEvent], Awaitable[None]], event: ParleyEvent) -> None:
        try:
            await handle(event)
        except TelegramAPIError as exc:
            log.error("telegram refused a group post", extra={"error": str(exc)})
        except Exception:  # a bad event never stops the reader
            log.exception("could not show a group event in Telegram")


class Groups:
    """The bound chats and their relays (one Parley connection per bound chat)."""

    def __init__(
        self, api: ServiceApi, tg: Telegram, state: BridgeState, settings: BridgeSettings
    ) -> None:
        self.api = api
        self.tg = tg
        self.state = state
        self.settings = settings
        self._relays: dict[int, GroupRelay] = {}
        self._lock = asyncio.Lock()

    def find(self, chat_id: int) -> GroupRelay | None:
        return self._relays.get(chat_id)

    async def bind(self, chat_id: int, who: str, target: str) -> str:
        """Bind `chat_id` to the study group named by `target` (its id, or its invite code,
        which only owners and admins see) for linked user `who`; returns the group's name.
        Raises `BindRefused` (with the sentence to show) or `ProtocolError`."""
        rooms = await self.api.as_user(who, "GET", "/rooms")
        wanted = target.strip()
        room = next(
            (
                r
                for r in rooms
                if str(r["id"]) == wanted
                or (r.get("invite_code") and str(r["invite_code"]).lower() == wanted.lower())
            ),
            None,
        )
        if room is None or room["kind"] != "study_group":
            raise BindRefused("You are not in a Parley study group with that id or invite code.")
        if room.get("my_role") not in MANAGERS:
            raise BindRefused("Only the group's owner or an admin can bind it to this chat.")
        binding = Binding(chat_id, int(room["id"]), who, int(room.get("head") or 0))
        async with self._lock:
            for old in [r for r in self._relays.values() if r.binding.room_id == binding.room_id]:
                await self._relays.pop(old.chat_id).close()
            if (same := self._relays.pop(chat_id, None)) is not None:
                await same.close()
            await self.state.bind(binding)
            relay = self._relay(binding)
            await relay.start()
            self._relays[chat_id] = relay
        return str(room["name"])

    async def unbind(self, chat_id: int, who: str) -> str:
        """Unbind `chat_id` for linked user `who`, whom the server must report as the bound
        group's owner or an admin (as for `/bind`); returns the group's name. Its reader
        stops (a post in flight finishes first) and nothing more is relayed either way.
        Raises `BindRefused` (with the sentence to show) or `ProtocolError`."""
        relay = self._relays.get(chat_id)
        if relay is None:
            raise BindRefused("This chat is not bound to a Parley group.")
        rooms = await self.api.as_user(who, "GET", "/rooms")
        room = next((r for r in rooms if int(r["id"]) == relay.binding.room_id), None)
        if room is None or room.get("my_role") not in MANAGERS:
            raise BindRefused("Only the group's owner or an admin can unbind this chat.")
        async with self._lock:
            if self._relays.get(chat_id) is relay:
                del self._relays[chat_id]
                await self.state.unbind(chat_id)
                await relay.close()
        return str(room["name"])

    async def load(self) -> None:
        """Know every stored binding at once (before updates are taken), so text in a
        bound chat is relayed even before its reader has reconnected."""
        for binding in await self.state.bindings():
            self._relays[binding.chat_id] = self._relay(binding)

    async def resume_all(self) -> None:
        """Start every loaded binding's reader, retrying while Parley is unreachable. A
        binding whose reader is no longer linked still relays Telegram to Parley (as each
        sender) but shows nothing from Parley (logged) until someone binds again."""
        for chat_id, relay in list(self._relays.items()):
            delay = 1.0
            while self._relays.get(chat_id) is relay:
                try:
                    await relay.start()
                    break
                except (AuthenticationFailed, ProtocolError) as exc:
                    log.warning("a group binding cannot be resumed", extra={"error": str(exc)})
                    break
                except Exception:  # noqa: BLE001 - Parley unreachable: try again later
                    log.warning("could not resume a group yet", extra={"chat": chat_id})
                    await relay.close()
                    await asyncio.sleep(delay)
                    delay = min(30.0, delay * 2)
                    async with self._lock:
                        if self._relays.get(chat_id) is relay:  # not rebound meanwhile
                            relay = self._relays[chat_id] = self._relay(relay.binding)

    def _relay(self, binding: Binding) -> GroupRelay:
        return GroupRelay(binding, self.api, self.tg, self.state, self.settings)

    async def close_all(self) -> None:
        relays = list(self._relays.values())
        self._relays.clear()
        await asyncio.gather(*(r.close() for r in relays), return_exceptions=True)
