"""`parley bridge telegram`: wiring, and updates by long polling (the default) or by
webhook (`TELEGRAM_WEBHOOK_URL`, webhook.py).

Polling is aiogram's: a failed `getUpdates` is retried with backoff, and a handler that
raises is logged without stopping the loop, so Telegram errors never crash the bridge.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bridges.telegram.commands import build_router
from bridges.telegram.groups import Groups
from bridges.telegram.pacing import Telegram
from bridges.telegram.sessions import Sessions
from bridges.telegram.settings import BridgeSettings
from bridges.telegram.state import BridgeState
from bridges.telegram.webhook import serve_webhook
from client import ServiceApi

log = logging.getLogger("parley.telegram")

UPDATES = ["message", "callback_query", "stopped_message_generation"]


async def run(settings: BridgeSettings, *, ready: asyncio.Event | None = None) -> None:
    """Serve until cancelled (or SIGINT/SIGTERM when run as a program)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.api_base))
    bot = Bot(settings.bot_token.get_secret_value(), session=session)
    state = BridgeState(settings.state_path)
    api = ServiceApi(settings.parley_url, settings.service_token.get_secret_value())
    tg = Telegram(bot, settings.private_edit_seconds, settings.group_edit_seconds)
    sessions = Sessions(api, tg, state, settings)
    groups = Groups(api, tg, state, settings)
    dispatcher = Dispatcher(api=api, sessions=sessions, groups=groups)
    dispatcher.include_router(build_router())
    resuming: list[asyncio.Task[None]] = []
    try:
        # In the background: Parley may be down right now, and Telegram must still be
        # served (commands answer, messages wait in each client's outbox).
        resuming.append(asyncio.create_task(sessions.resume_all(await state.followed())))
        await groups.load()
        resuming.append(asyncio.create_task(groups.resume_all()))
        if settings.webhook_url is not None:
            await serve_webhook(dispatcher, bot, settings, UPDATES, ready)
            return
        # Telegram refuses getUpdates while a webhook is set (from an earlier run).
        await bot.delete_webhook()
        if ready is not None:
            ready.set()
        log.info("telegram bridge polling", extra={"api": settings.api_base})
        polling = asyncio.create_task(
            dispatcher.start_polling(
                bot,
                polling_timeout=settings.poll_timeout,
                allowed_updates=UPDATES,
                handle_signals=ready is None,
                close_bot_session=False,
            )
        )
        try:
            await asyncio.shield(polling)
        except asyncio.CancelledError:
            # Cancelling start_polling itself would orphan its polling tasks: stop it.
            if not polling.done():
                await dispatcher.stop_polling()
            await asyncio.gather(polling, return_exceptions=True)
            raise
    finally:
        for task in resuming:
            task.cancel()
        await asyncio.gather(*resuming, return_exceptions=True)
        await groups.close_all()
        await sessions.close_all()
        await api.aclose()
        await bot.session.close()
        state.close()
