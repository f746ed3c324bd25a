"""Webhook mode: Telegram POSTs each update to the bridge instead of being polled.

`serve_webhook` listens on `webhook_host:webhook_port` (aiohttp, through aiogram's
`SimpleRequestHandler`), then registers `webhook_url` with `setWebhook`, giving Telegram
the secret token. A request without that exact token in `X-Telegram-Bot-Api-Secret-Token`
is answered 401 and never reaches a handler (constant-time comparison). Updates are
answered at once and handled in the background, as in polling; a handler's failure is
logged by aiogram and never stops the listener.

The webhook is left registered on shutdown: Telegram keeps the updates that arrive while
the bridge restarts and delivers them afterwards. Starting in polling mode deletes it
(main.py), since Telegram refuses `getUpdates` while a webhook is set.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bridges.telegram.settings import BridgeSettings

log = logging.getLogger("parley.telegram")


async def serve_webhook(
    dispatcher: Dispatcher,
    bot: Bot,
    settings: BridgeSettings,
    allowed_updates: list[str],
    ready: asyncio.Event | None = None,
) -> None:
    """Serve updates posted by Telegram until cancelled."""
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    secret = settings.webhook_secret.get_secret_value()
    app = web.Application()
    handler = SimpleRequestHandler(dispatcher, bot, secret_token=secret)
    # Registered by hand: `register` would also close the bot's session on shutdown,
    # which main.py owns.
    app.router.add_route("POST", urlsplit(settings.webhook_url).path or "/", handler.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
        await site.start()
        await bot.set_webhook(
            settings.webhook_url, secret_token=secret, allowed_updates=allowed_updates
        )
        log.info("telegram bridge serving its webhook", extra={"port": settings.webhook_port})
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()  # until cancelled
    finally:
        await runner.cleanup()
        # Updates still being handled end with the bridge, as polling's do.
        pending = list(handler._background_feed_update_tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
