"""What the bot answers to in group chats: `/bind`, `/unbind`, plain text (relayed),
`/quiz`, `/leaderboard`, and the quiz's answer buttons (docs/telegram.md).

Who may do what is Parley's decision, asked with the person's own token: binding needs
the owner or admin role the server reports; text is relayed as its linked sender (a
member of the group) and refused in plain words otherwise; a button press answers as the
person pressing it, and the server scores it once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import CallbackQuery, Message

from bridges.telegram.groups import BindRefused, Groups, relay_client_id
from bridges.telegram.pacing import Telegram
from bridges.telegram.quiz import parse_answer
from bridges.telegram.sessions import Sessions
from client import AuthenticationFailed, ProtocolError

log = logging.getLogger("parley.telegram")

GROUP_CHATS = {"group", "supergroup"}
NOT_BOUND = "This chat is not bound to a Parley group. Its owner can send /bind GROUP_ID here."
NOT_LINKED = (
    "Your messages are not relayed to Parley yet: send me /start (or /link CODE) in a "
    "private chat, then /join with the group's invite code."
)
NOT_MEMBER = (
    "Your messages are not relayed: /join the Parley group first (ask for its invite code)."
)
ANSWERS = {
    "conflict": "You have already answered this question.",
    "invalid": "This question is closed.",
    "not_found": "This quiz no longer exists.",
    "forbidden": "Join the Parley group first (/join with its invite code).",
}


def _who(message: Message) -> str | None:
    return str(message.from_user.id) if message.from_user else None


async def _say(tg: Telegram, chat_id: int, text: str) -> None:
    await tg.call(chat_id, SendMessage(chat_id=chat_id, text=text))


async def bind(message: Message, command: CommandObject, groups: Groups) -> None:
    who = _who(message)
    chat = message.chat.id
    if who is None:
        return
    if message.chat.type not in GROUP_CHATS:
        await _say(groups.tg, chat, "Send /bind in the Telegram group you want to bind.")
        return
    target = (command.args or "").strip()
    if not target:
        await _say(groups.tg, chat, "Send /bind GROUP_ID (or the group's invite code).")
        return
    name = await _or_refusal(groups, chat, groups.bind(chat, who, target))
    if name is None:
        return
    await _say(groups.tg, chat, f"This chat is now bound to {name}. Messages go both ways.")


async def _or_refusal(groups: Groups, chat: int, change: Awaitable[str]) -> str | None:
    """The bound group's name once `change` (a bind or unbind) is done, or None once the
    refusal was said in the chat: in Parley's words, or "not linked" for a sender the
    bridge cannot act for."""
    try:
        return await change
    except BindRefused as exc:
        await _say(groups.tg, chat, str(exc))
    except (ProtocolError, AuthenticationFailed):
        await _say(groups.tg, chat, NOT_LINKED)
    return None


async def unbind(message: Message, groups: Groups) -> None:
    who = _who(message)
    chat = message.chat.id
    if who is None or message.chat.type not in GROUP_CHATS:
        return
    name = await _or_refusal(groups, chat, groups.unbind(chat, who))
    if name is None:
        return
    await _say(groups.tg, chat, f"This chat is no longer bound to {name}. Nothing is relayed.")


async def relay(message: Message, groups: Groups, sessions: Sessions) -> None:
    """Plain text in a bound group goes to the Parley room as its linked sender."""
    who = _who(message)
    found = groups.find(message.chat.id)
    if who is None or found is None or not message.text:
        return  # an unbound group's chatter is not addressed to the bot
    try:
        session = await sessions.get(who)
        await session.client.send(
            found.room_channel,
            message.text,
            client_id=relay_client_id(message.chat.id, message.message_id),
        )
    except AuthenticationFailed:
        await _say(groups.tg, message.chat.id, NOT_LINKED)
    except ProtocolError as exc:
        text = NOT_MEMBER if exc.code in ("forbidden", "not_found") else exc.message
        await _say(groups.tg, message.chat.id, text)


async def quiz(message: Message, groups: Groups) -> None:
    found = groups.find(message.chat.id)
    if found is None:
        await _say(groups.tg, message.chat.id, NOT_BOUND)
        return
    try:
        session = await found.live_session()
    except ProtocolError:
        await _say(groups.tg, message.chat.id, "Parley could not say. Please try again.")
        return
    if session is None:
        await _say(groups.tg, message.chat.id, "No quiz is running in this group.")
    elif not await found.follow_quiz(session):
        await _say(groups.tg, message.chat.id, "The quiz is on: its question is above.")


async def leaderboard(message: Message, groups: Groups) -> None:
    found = groups.find(message.chat.id)
    if found is None:
        await _say(groups.tg, message.chat.id, NOT_BOUND)
        return
    try:
        await found.post_board()
    except ProtocolError:
        await _say(groups.tg, message.chat.id, "Parley could not say. Please try again.")


async def press(callback: CallbackQuery, groups: Groups, sessions: Sessions) -> None:
    """An answer button: answered as the person pressing it, the outcome shown to them."""
    parsed = parse_answer(callback.data or "")
    chat_id = callback.message.chat.id if callback.message else callback.from_user.id
    if parsed is None:
        text = "That button is not an answer."
    else:
        try:
            session = await sessions.get(str(callback.from_user.id))
            await session.client.answer(*parsed)
            text = "Answer recorded."
        except AuthenticationFailed:
            text = "Send me /start in a private chat first."
        except ProtocolError as exc:
            text = ANSWERS.get(str(exc.code), "Parley could not take that answer.")
    await groups.tg.call(chat_id, AnswerCallbackQuery(callback_query_id=callback.id, text=text))


def register(router: Router) -> None:
    router.message.register(bind, Command("bind"))
    router.message.register(unbind, Command("unbind"))
    router.message.register(quiz, Command("quiz"))
    router.message.register(leaderboard, Command("leaderboard"))
    router.callback_query.register(press, F.data.startswith("a:"))
    router.message.register(relay, F.text & ~F.text.startswith("/"), F.chat.type.in_(GROUP_CHATS))
