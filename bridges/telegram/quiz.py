"""A group's live quiz and leaderboard in a Telegram chat (docs/telegram.md).

- `QuizView`: each question of the followed session as a message with one inline button
  per option (callback data `a:<session>:<question>:<option>`, at most 25 bytes, under
  Telegram's 64), then, when the question closes, the same message edited to show the
  right option without buttons, and the reveal posted. Each post is recorded by key
  (state.py `posts`) before the next event is read, so a restarted bridge, which is sent
  the current question or reveal again on resubscribing, posts none of them twice.
- `BoardView`: one message kept equal to the latest board by edits: at most one per the
  chat's edit interval (3 s in a group, shared with every other edit in that chat, see
  pacing.py), coalesced to the newest board, and never with unchanged text.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram.exceptions import TelegramAPIError
from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bridges.telegram.pacing import Telegram
from bridges.telegram.state import BridgeState
from client import BoardEntry, BoardEvent, EndedEvent, ParleyEvent, QuestionEvent, RevealEvent

log = logging.getLogger("parley.telegram")

LETTERS = "ABCD"
BOARD_SIZE = 10


def answer_data(session: int, question_id: int, option: int) -> str:
    return f"a:{session}:{question_id}:{option}"


def parse_answer(data: str) -> tuple[int, int, int] | None:
    """(session, question_id, option) from a button's callback data; None if malformed."""
    parts = data.split(":")
    if len(parts) != 4 or parts[0] != "a" or not all(p.isdigit() for p in parts[1:]):
        return None
    return int(parts[1]), int(parts[2]), int(parts[3])


def question_text(event: QuestionEvent) -> str:
    lines = [f"Question {event.index + 1} of {event.count}", event.question.text, ""]
    lines += [f"{LETTERS[i]}) {o}" for i, o in enumerate(event.question.options)]
    return "\n".join(lines)


def board_text(entries: list[BoardEntry], total: int) -> str:
    if not entries:
        return "Leaderboard\nNo scores yet."
    lines = ["Leaderboard"]
    for e in entries[:BOARD_SIZE]:
        lines.append(f"{e.rank}. {e.user.name}: {e.score} ({e.correct} right, {e.wrong} wrong)")
    if total > len(entries[:BOARD_SIZE]):
        lines.append(f"… {total} ranked")
    return "\n".join(lines)


async def paced_edit(tg: Telegram, chat_id: int, method: EditMessageText) -> None:
    """An edit that keeps the chat's edit interval (and its 429 deadline)."""
    if (wait := tg.pacer(chat_id).reserve_edit()) > 0:
        await asyncio.sleep(wait)
    await tg.call(chat_id, method)


class QuizView:
    def __init__(self, chat_id: int, tg: Telegram, state: BridgeState) -> None:
        self.chat_id = chat_id
        self.tg = tg
        self.state = state
        self._questions: dict[tuple[int, int], QuestionEvent] = {}

    async def on_event(self, event: ParleyEvent) -> bool:
        """Show `event`; True once the session has ended."""
        session = int(event.channel.removeprefix("quiz:"))
        match event:
            case QuestionEvent():
                self._questions[(session, event.index)] = event
                await self._post_once(
                    f"question:{session}:{event.index}",
                    question_text(event),
                    InlineKeyboardMarkup(
                        inline_keyboard=[
                            [
                                InlineKeyboardButton(
                                    text=f"{LETTERS[i]}) {option}"[:64],
                                    callback_data=answer_data(session, event.question.id, i),
                                )
                            ]
                            for i, option in enumerate(event.question.options)
                        ]
                    ),
                )
            case RevealEvent():
                await self._reveal(session, event)
            case EndedEvent():
                self._questions = {k: v for k, v in self._questions.items() if k[0] != session}
                await self._post_once(
                    f"ended:{session}", "The quiz is over. /leaderboard shows the standings."
                )
                return True
            case _:
                pass
        return False

    async def _reveal(self, session: int, event: RevealEvent) -> None:
        key = f"reveal:{session}:{event.index}"
        if await self.state.post(key) is not None:
            return
        asked = self._questions.pop((session, event.index), None)
        right = LETTERS[event.correct_index] if 0 <= event.correct_index < 4 else "?"
        if asked is not None:
            right += f") {asked.question.options[event.correct_index]}"
            message_id = await self.state.post(f"question:{session}:{event.index}")
            if message_id is not None:  # closed: the buttons go, the answer shows
                text = f"{question_text(asked)}\n\nAnswer: {right}"
                try:
                    await paced_edit(
                        self.tg,
                        self.chat_id,
                        EditMessageText(chat_id=self.chat_id, message_id=message_id, text=text),
                    )
                except TelegramAPIError as exc:  # the reveal below still goes out
                    log.error("could not close a quiz question", extra={"error": str(exc)})
        reveal = f"Question {event.index + 1}: the answer is {right}."
        if event.explanation:
            reveal += f"\n{event.explanation}"
        await self._post_once(key, reveal)

    async def _post_once(
        self, key: str, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        if await self.state.post(key) is not None:
            return
        sent = await self.tg.call(
            self.chat_id, SendMessage(chat_id=self.chat_id, text=text, reply_markup=markup)
        )
        if sent is not None:
            await self.state.save_post(key, self.chat_id, sent.message_id)


class BoardView:
    def __init__(self, chat_id: int, room_id: int, tg: Telegram, state: BridgeState) -> None:
        self.chat_id = chat_id
        self.tg = tg
        self.state = state
        self.key = f"board:{room_id}"
        self._version = -1
        self._latest: str | None = None
        self._shown: str | None = None
        self._flushing: asyncio.Task[None] | None = None

    async def post(self, page: dict[str, Any]) -> None:
        """Post the board `page` (REST leaderboard) as a new message, kept current."""
        entries = [BoardEntry.model_validate(item) for item in page["items"]]
        text = board_text(entries, int(page["total"]))
        self._version = max(self._version, int(page["version"]))
        sent = await self.tg.call(self.chat_id, SendMessage(chat_id=self.chat_id, text=text))
        if sent is not None:
            await self.state.save_post(self.key, self.chat_id, sent.message_id, text)
            self._shown = self._latest = text

    async def resume(self) -> None:
        """After a restart: what the kept message shows, so no edit repeats it."""
        self._shown = await self.state.post_text(self.key)

    async def on_event(self, event: ParleyEvent) -> None:
        if not isinstance(event, BoardEvent) or event.version <= self._version:
            return
        self._version = event.version
        self._latest = board_text(event.top, event.total)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        """Edit the message to the newest board, at the chat's pace, until it is shown."""
        while self._latest is not None and self._latest != self._shown:
            message_id = await self.state.post(self.key)
            if message_id is None:
                return
            text = self._latest
            try:
                await paced_edit(
                    self.tg,
                    self.chat_id,
                    EditMessageText(chat_id=self.chat_id, message_id=message_id, text=text),
                )
            except Exception:
                log.exception("could not edit the leaderboard", extra={"chat": self.chat_id})
                return
            self._shown = text
            await self.state.post_edited(self.key, text)

    async def close(self) -> None:
        if self._flushing is not None:
            self._flushing.cancel()
            await asyncio.gather(self._flushing, return_exceptions=True)
