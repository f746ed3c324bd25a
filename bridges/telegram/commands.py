"""What the bot answers to: commands, text, and the Stop button (docs/telegram.md).

Every handler answers the user in plain words; Parley's refusals become a sentence, never
an exception that reaches aiogram (which would log it and answer nothing).
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message, MessageGenerationStopped

from bridges.telegram import group_commands
from bridges.telegram.sessions import Sessions, UserSession
from client import AuthenticationFailed, ProtocolError, ServiceApi

log = logging.getLogger("parley.telegram")

NOT_LINKED = "You are not linked to Parley yet. Send /start, or /link CODE with a code from Parley."
HELP = (
    "Describe your symptoms and I will suggest which specialist to see.\n"
    "/new starts a new conversation, /stop stops an answer, /unlink disconnects your account."
)


def _who(message: Message) -> str | None:
    return str(message.from_user.id) if message.from_user else None


def _refusal(exc: ProtocolError) -> str:
    match exc.code:
        case "conflict":
            return "I am still answering your previous message. Send /stop to stop it."
        case "rate_limited":
            return "You have asked a lot of questions recently. Please try again later."
        case "forbidden" | "unauthorized":
            return NOT_LINKED
        case _:
            return "Parley could not take that right now. Please try again."


async def start(message: Message, api: ServiceApi) -> None:
    who = _who(message)
    if who is None or message.from_user is None:
        return
    name = message.from_user.full_name[:80] or "Telegram user"
    try:
        _, created = await api.bind_user(who, name)
    except ProtocolError as exc:  # e.g. unavailable: said, not a traceback
        await message.answer(_refusal(exc))
        return
    greeting = "Welcome to Parley!" if created else "Welcome back!"
    await message.answer(f"{greeting}\n{HELP}")


async def link(message: Message, command: CommandObject, api: ServiceApi) -> None:
    who = _who(message)
    if who is None:
        return
    code = (command.args or "").strip()
    if not code:
        await message.answer("Send /link CODE with the code from Parley (Settings, Telegram).")
        return
    try:
        user = await api.link(who, code)
    except ProtocolError as exc:
        text = {
            "not_found": "That code is unknown, expired or already used.",
            "conflict": "This Telegram account is already linked. Send /unlink first.",
            "invalid": "A code is 8 letters and digits.",
        }.get(str(exc.code), _refusal(exc))
        await message.answer(text)
        return
    await message.answer(f"Linked to your Parley account, {user.display_name}.\n{HELP}")


async def unlink(message: Message, api: ServiceApi, sessions: Sessions) -> None:
    who = _who(message)
    if who is None:
        return
    await sessions.drop(who)
    try:
        await api.unlink(who)
    except ProtocolError:
        await message.answer("This Telegram account is not linked.")
        return
    await sessions.state.forget_chat(who)
    await message.answer("Unlinked. The bridge can no longer act for you.")


async def new(message: Message, sessions: Sessions) -> None:
    who = _who(message)
    if who is None:
        return
    try:
        session = await sessions.get(who)
        await session.new_conversation(message.chat.id)
    except (ProtocolError, AuthenticationFailed):
        await message.answer(NOT_LINKED)
        return
    await message.answer("New conversation. Describe your symptoms.")


async def stop(message: Message, sessions: Sessions) -> None:
    who = _who(message)
    session = sessions.find(who) if who else None
    if session is None or not await _stopped(session):
        await message.answer("Nothing to stop.")


async def _stopped(session: UserSession, draft_id: int | None = None) -> bool:
    try:
        return await session.stop(draft_id)
    except ProtocolError:  # it ended meanwhile
        return False


async def stop_button(update: MessageGenerationStopped, sessions: Sessions) -> None:
    # Drafts exist in private chats only, whose id is the user's id.
    session = sessions.find(str(update.chat.id))
    if session is not None:
        await _stopped(session, update.draft_id)


async def ask_in_group(message: Message, command: CommandObject, sessions: Sessions) -> None:
    await _ask(message, (command.args or "").strip(), sessions)


async def text(message: Message, sessions: Sessions) -> None:
    await _ask(message, message.text or "", sessions)


async def _ask(message: Message, text: str, sessions: Sessions) -> None:
    who = _who(message)
    if who is None or not text:
        return
    try:
        session = await sessions.get(who)
        await session.ask(message.chat.id, text)
    except AuthenticationFailed:
        await message.answer(NOT_LINKED)
    except ProtocolError as exc:
        await message.answer(_refusal(exc))


async def join(message: Message, command: CommandObject, api: ServiceApi) -> None:
    """`/join CODE`: join a Parley study group with its invite code."""
    who = _who(message)
    code = (command.args or "").strip()
    if who is None:
        return
    if not code:
        await message.answer("Send /join CODE with the group's invite code.")
        return
    try:
        room = await api.as_user(who, "POST", "/rooms/join", {"invite_code": code})
    except ProtocolError as exc:
        text = {
            "not_found": "No group has that invite code.",
            "invalid": "That is not an invite code.",
        }.get(str(exc.code), _refusal(exc))
        await message.answer(text)
        return
    await message.answer(f"You joined {room['name']}.")


def build_router() -> Router:
    """The handlers, on a fresh router (a router joins one dispatcher only)."""
    router = Router(name="parley")
    router.message.register(start, CommandStart())
    router.message.register(link, Command("link"))
    router.message.register(unlink, Command("unlink"))
    router.message.register(new, Command("new"))
    router.message.register(stop, Command("stop"))
    router.stopped_message_generation.register(stop_button)
    router.message.register(ask_in_group, Command("ask"))
    router.message.register(join, Command("join"))
    group_commands.register(router)
    router.message.register(text, F.text & ~F.text.startswith("/"), F.chat.type == "private")
    return router
