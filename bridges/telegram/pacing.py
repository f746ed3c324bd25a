"""Talking to the Bot API within Telegram's limits, per chat.

Each chat has ONE "blocked until" deadline, moved by any 429's `retry_after`, which every
call to that chat waits for: bots that stream LLM output and ignore `retry_after` have
drawn penalties from 30 s to hours. Edits of a growing answer are also spaced (at most one
per `private_edit_seconds` in a private chat, one per `group_edit_seconds` in a group).

`Telegram.call` is the one way the bridge calls the Bot API:
- 429: the chat's deadline moves, the call waits and is repeated (a final answer therefore
  always arrives, after the penalty if there is one);
- "message is not modified": success (the text is already there);
- a network failure or a 5xx: repeated with backoff, then raised;
- any other refusal: raised (`TelegramAPIError`) for the caller to handle or report.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod

log = logging.getLogger("parley.telegram")
T = TypeVar("T")

NOT_MODIFIED = "message is not modified"
MAX_TRANSIENT_ATTEMPTS = 5
# Pacing state is kept for this many chats at most (least recently used dropped first).
MAX_CHATS = 10_000


class ChatPacer:
    """One chat's shared deadline and its edit spacing (monotonic clock)."""

    def __init__(self, edit_seconds: float) -> None:
        self.edit_seconds = edit_seconds
        self.blocked_until = 0.0
        self._last_edit = float("-inf")

    def penalize(self, retry_after: float) -> None:
        self.blocked_until = max(self.blocked_until, time.monotonic() + retry_after)

    def blocked_for(self) -> float:
        return max(0.0, self.blocked_until - time.monotonic())

    def edit_due_in(self) -> float:
        """Seconds until the next edit may go out (0: now)."""
        now = time.monotonic()
        return max(0.0, self._last_edit + self.edit_seconds - now, self.blocked_until - now)

    def reserve_edit(self) -> float:
        """Claim the next edit slot: the seconds to wait before using it. Concurrent
        editors of one chat (a board and a quiz) each get their own slot."""
        wait = self.edit_due_in()
        self._last_edit = time.monotonic() + wait
        return wait

    def edited(self) -> None:
        self._last_edit = time.monotonic()


class Telegram:
    """The bot plus per-chat pacing. See the module docstring for the retry rules."""

    def __init__(self, bot: Bot, private_edit_seconds: float, group_edit_seconds: float) -> None:
        self.bot = bot
        self._private = private_edit_seconds
        self._group = group_edit_seconds
        self._pacers: OrderedDict[int, ChatPacer] = OrderedDict()

    def pacer(self, chat_id: int) -> ChatPacer:
        pacer = self._pacers.get(chat_id)
        if pacer is None:
            # Private chats have positive ids, groups and channels negative ones.
            pacer = ChatPacer(self._private if chat_id > 0 else self._group)
            self._pacers[chat_id] = pacer
            while len(self._pacers) > MAX_CHATS:
                self._pacers.popitem(last=False)
        else:
            self._pacers.move_to_end(chat_id)
        return pacer

    async def call(self, chat_id: int, method: TelegramMethod[T]) -> T | None:
        """Call `method` for `chat_id` honouring the chat's deadline; None when Telegram
        said the message is not modified."""
        pacer = self.pacer(chat_id)
        transient = 0
        while True:
            if (wait := pacer.blocked_for()) > 0:
                await asyncio.sleep(wait)
            try:
                return await self.bot(method)
            except TelegramRetryAfter as exc:
                pacer.penalize(exc.retry_after)
                log.warning(
                    "telegram asked to wait",
                    extra={"chat": chat_id, "retry_after": exc.retry_after},
                )
            except TelegramBadRequest as exc:
                if NOT_MODIFIED in exc.message:
                    return None
                raise
            except (TelegramNetworkError, TelegramServerError):
                transient += 1
                if transient >= MAX_TRANSIENT_ATTEMPTS:
                    raise
                await asyncio.sleep(min(8.0, 0.5 * 2**transient))
