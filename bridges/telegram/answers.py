"""One bot answer shown in one Telegram chat: live while it streams, then its final text.

Two ways to show it live (docs/telegram.md):
- draft: in a private chat, `sendMessageDraft` with `can_stop` (Telegram's Stop button
  arrives as a `stopped_message_generation` update), refreshed within its ~30 s life, and
  always finished with a real `sendMessage` of the final text;
- edit: otherwise (a group, or a draft refused), one message edited as text arrives, at
  most one edit per the chat's interval, never with unchanged text, plain text while
  streaming and HTML only on the final edit, a new message per 4,096 characters.

The message ids an edited answer lives in are stored (state.py) as soon as each is sent,
so a restarted bridge keeps editing them rather than posting the answer twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import time
import zlib

from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import DeleteMessage, EditMessageText, SendMessage, SendMessageDraft

from bridges.telegram.pacing import Telegram
from bridges.telegram.state import BridgeState

log = logging.getLogger("parley.telegram")

MAX_TEXT = 4096


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at a line break or space in the
    last quarter of a piece when there is one. Joined, the pieces are `text` again."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n", limit * 3 // 4, limit), text.rfind(" ", limit * 3 // 4, limit))
        cut = cut + 1 if cut > 0 else limit
        pieces.append(text[:cut])
        text = text[cut:]
    pieces.append(text)
    return pieces


def draft_id_of(stream: str) -> int:
    """A non-zero draft id from a Parley stream id (`s-` + 12 hex digits)."""
    try:
        value = int(stream.removeprefix("s-"), 16)
    except ValueError:
        value = zlib.crc32(stream.encode())
    return value or 1


def formatted(piece: str, emphasis: str | None) -> str:
    """The final HTML of a piece: escaped, the specialist's name in bold. The visible
    text is exactly `piece`."""
    escaped = html.escape(piece, quote=False)
    if emphasis:
        name = html.escape(emphasis, quote=False)
        escaped = escaped.replace(name, f"<b>{name}</b>", 1)
    return escaped


async def send_new(tg: Telegram, chat_id: int, body: str, emphasis: str | None = None) -> None:
    """A complete message (an emergency reply, or an answer replayed after a restart)."""
    for piece in split_text(body):
        await tg.call(
            chat_id,
            SendMessage(chat_id=chat_id, text=formatted(piece, emphasis), parse_mode="HTML"),
        )


class Answer:
    def __init__(
        self,
        tg: Telegram,
        state: BridgeState,
        chat_id: int,
        stream: str,
        *,
        drafts: bool,
        draft_seconds: float,
        draft_refresh_seconds: float,
        reply_to: int | None = None,
    ) -> None:
        self.tg = tg
        self.state = state
        self.chat_id = chat_id
        self.stream = stream
        self.reply_to = reply_to  # the seq answered: finds the messages after a restart
        self.draft_id = draft_id_of(stream)
        self.mode = "draft" if drafts and chat_id > 0 else "edit"
        self.text = ""
        self.message_ids: list[int] = []
        self._shown: list[str | None] = []
        self._draft_seconds = draft_seconds
        self._draft_refresh = draft_refresh_seconds
        self._changed = asyncio.Event()
        self._busy = asyncio.Lock()  # one Bot API call of this answer at a time
        self._pump: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Begin showing the answer; picks up the messages of a resumed edit."""
        self.message_ids = await self.state.stream_messages(self.stream)
        if self.message_ids:
            self.mode = "edit"
            self._shown = [None] * len(self.message_ids)
        self._pump = asyncio.create_task(self._run(), name=f"answer-{self.stream}")

    def add(self, text: str) -> None:
        self.text += text
        self._changed.set()

    async def finish(self, body: str, emphasis: str | None) -> None:
        """Show the final text (the durable message's body). Waits out any 429 penalty;
        raises only for a refusal Telegram will not take back."""
        async with self._busy:
            await self._stop()
            pieces = split_text(body)
            if self.mode == "draft":
                for piece in pieces:
                    await self.tg.call(
                        self.chat_id,
                        SendMessage(
                            chat_id=self.chat_id,
                            text=formatted(piece, emphasis),
                            parse_mode="HTML",
                        ),
                    )
            else:
                await self._sync([formatted(p, emphasis) for p in pieces], html_mode=True)
                for message_id in self.message_ids[len(pieces) :]:
                    await self.tg.call(
                        self.chat_id, DeleteMessage(chat_id=self.chat_id, message_id=message_id)
                    )
        await self.state.forget_stream(self.stream)

    async def abandon(self) -> None:
        """Stop showing it without a final text (the bridge is shutting down). A call in
        flight is let finish (up to 10 s), so a message Telegram created is recorded and
        a restarted bridge edits it rather than sending a second one."""
        try:
            async with asyncio.timeout(10):
                await self._busy.acquire()
        except TimeoutError:
            await self._stop()
            return
        try:
            await self._stop()
        finally:
            self._busy.release()

    async def _stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None

    async def _run(self) -> None:
        last_draft = float("-inf")
        pacer = self.tg.pacer(self.chat_id)
        while True:
            if self.mode == "draft":
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), self._draft_refresh)
                delay = max(
                    pacer.blocked_for(), last_draft + self._draft_seconds - time.monotonic()
                )
            else:
                await self._changed.wait()
                delay = pacer.edit_due_in()
            if delay > 0:
                await asyncio.sleep(delay)
            self._changed.clear()
            if not self.text:
                continue
            async with self._busy:
                try:
                    if self.mode == "draft":
                        await self._draft()
                        last_draft = time.monotonic()
                    else:
                        await self._sync(split_text(self.text), html_mode=False)
                except TelegramBadRequest as exc:
                    log.warning(
                        "telegram refused a live update",
                        extra={"chat": self.chat_id, "error": exc.message},
                    )

    async def _draft(self) -> None:
        try:
            await self.tg.call(
                self.chat_id,
                SendMessageDraft(
                    chat_id=self.chat_id,
                    draft_id=self.draft_id,
                    text=split_text(self.text)[-1],
                    parse_mode=None,
                    can_stop=True,
                ),
            )
        except TelegramBadRequest as exc:
            log.info("draft refused; editing a message instead", extra={"error": exc.message})
            self.mode = "edit"
            await self._sync(split_text(self.text), html_mode=False)

    async def _sync(self, pieces: list[str], *, html_mode: bool) -> None:
        """Make the answer's messages show `pieces`: edit what changed, send what is new."""
        pacer = self.tg.pacer(self.chat_id)
        parse_mode = "HTML" if html_mode else None
        for i, piece in enumerate(pieces):
            if i < len(self.message_ids) and self._shown[i] == piece:
                continue  # never an edit with unchanged text
            if (wait := pacer.edit_due_in()) > 0:
                await asyncio.sleep(wait)  # the final edit keeps the pace too
            if i < len(self.message_ids):
                await self.tg.call(
                    self.chat_id,
                    EditMessageText(
                        chat_id=self.chat_id,
                        message_id=self.message_ids[i],
                        text=piece,
                        parse_mode=parse_mode,
                    ),
                )
            else:
                sent = await self.tg.call(
                    self.chat_id,
                    SendMessage(chat_id=self.chat_id, text=piece, parse_mode=parse_mode),
                )
                if sent is None:
                    continue
                self.message_ids.append(sent.message_id)
                self._shown.append(None)
                await self.state.save_stream(
                    self.stream, self.chat_id, self.message_ids, self.reply_to
                )
            self._shown[i] = piece
            pacer.edited()
