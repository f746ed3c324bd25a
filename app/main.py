"""Composition root: build the app, wire services in the lifespan. No logic lives here."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from app import gc_tuning, logs, tracing
from app.security import passwords, token_codec
from app.settings import Settings, get_settings
from broker import Broker
from broker.memory import MemoryBroker
from broker.redis import RedisBroker
from domain.admission import Admission
from domain.bot.config import BotConfig
from domain.bot.openai_provider import OpenAIProvider
from domain.bot.service import BotService
from domain.study.live import Study
from domain.tasks import every, spawn
from domain.triage import DISCLAIMER
from edge import errors
from edge.http_telemetry import HttpTelemetry
from edge.services import Services
from models.db import make_engine, make_sessionmaker
from realtime import sse, study_sse, ws
from realtime.hub import Hub
from realtime.telemetry import Telemetry
from realtime.ws_fast_path import WebSocketFastPath
from rest import (
    access_log,
    admin,
    auth,
    bot,
    doctors,
    health,
    leaderboards,
    links,
    messages,
    notifications,
    quizzes,
    rooms,
    service,
    sessions,
    shares,
    symptoms,
    users,
)
from rest import metrics as metrics_endpoint

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def node_id() -> str:
    """Unique per running process: host, pid and a random suffix (pids get reused)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


def make_broker(settings: Settings, node: str) -> Broker:
    if settings.broker == "memory":
        return MemoryBroker(node, history_cap=settings.history_cap)
    if not settings.redis_url:
        raise RuntimeError(
            "REDIS_URL is not set. Start Parley with `parley serve` (which starts an embedded "
            "Redis), set REDIS_URL, or set PARLEY_BROKER=memory for a single worker."
        )
    return RedisBroker(
        settings.redis_url, node, prefix=settings.redis_prefix, history_cap=settings.history_cap
    )


def bot_config(settings: Settings) -> BotConfig:
    low, high = settings.bot_offline_pace_ms
    return BotConfig(
        quota=settings.bot_quota,
        quota_window=settings.bot_quota_window_seconds,
        window=settings.bot_window_ms / 1000,
        first_token_timeout=settings.bot_first_token_seconds,
        idle_timeout=settings.bot_idle_seconds,
        total_timeout=settings.bot_total_seconds,
        lease=settings.bot_lease_seconds,
        sweep_every=settings.bot_sweep_seconds,
        context_messages=settings.bot_context_messages,
        context_chars=settings.bot_context_chars,
        offline_pace=(low / 1000, high / 1000),
    )


def make_model(settings: Settings) -> OpenAIProvider | None:
    """The OpenAI-compatible provider when one is configured, else None (offline engine)."""
    if not settings.llm_configured:
        return None
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "unused"
    return OpenAIProvider(
        api_key=key,
        base_url=settings.openai_base_url,
        model=settings.openai_model,
        disclaimer=DISCLAIMER,
        timeout=settings.bot_total_seconds,
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if not settings.database_url:
        raise RuntimeError(
            "DATABASE_URL is not set. Start Parley with `parley serve` (which starts an "
            "embedded PostgreSQL) or set DATABASE_URL=postgresql+asyncpg://..."
        )
    engine = make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    tracing.instrument_engine(engine)
    sessions = make_sessionmaker(engine)
    broker = make_broker(settings, node_id())
    hub = Hub(broker, sessions, presence_ttl=settings.presence_ttl_seconds)
    study = Study(
        broker,
        sessions,
        window=settings.board_window_seconds,
        lease_seconds=settings.quiz_lease_seconds,
        check_seconds=settings.quiz_check_seconds,
    )
    await broker.start()
    await hub.start()
    model = make_model(settings)
    bot_service = BotService(sessions, broker, bot_config(settings), spawn, model)
    sweeper = spawn(every(settings.bot_sweep_seconds, bot_service.sweep), name="bot-sweeper")
    renewer = spawn(
        every(settings.bot_lease_seconds / 3, bot_service.refresh_leases), name="bot-leases"
    )
    await study.runner.start()
    admission = Admission.with_bound(settings.admission_bound)
    app.state.services = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        broker=broker,
        tokens=token_codec(settings),
        passwords=passwords(settings),
        bot=bot_service,
        study=study,
        admission=admission,
    )
    app.state.hub = hub
    telemetry = Telemetry(hub, engine, settings.presence_ttl_seconds, admission.lag)
    await telemetry.start()
    # Last: everything built above is long-lived, so it is what gets frozen.
    gc_tuning.tune(freeze=settings.gc_freeze, gen0_threshold=settings.gc_gen0_threshold)
    try:
        yield
    finally:
        await telemetry.close()
        sweeper.cancel()
        renewer.cancel()
        await bot_service.close()  # local answers end `interrupted` now, while Redis is up
        if model is not None:
            await model.close()
        await study.runner.close()
        await hub.close()
        await broker.close()
        await engine.dispose()
        metrics_endpoint.forget_this_worker()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logs.configure(settings.log_level, settings.log_format)
    app = FastAPI(
        title="Parley",
        version="0.1.0",
        summary="Real-time conversational backend: rooms, streams, quizzes.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    errors.install(app)
    app.add_middleware(HttpTelemetry)
    # Last, so outermost: a /ws socket skips the rest of the chain for its whole life.
    app.add_middleware(WebSocketFastPath)
    tracing.instrument_app(app)  # no-op unless OTEL_* variables switch tracing on
    app.include_router(health.router)
    app.include_router(metrics_endpoint.router)
    app.include_router(ws.router)
    for router in (
        admin.router,
        auth.router,
        users.router,
        links.router,
        service.router,
        rooms.router,
        messages.router,
        bot.router,
        quizzes.router,
        sessions.router,
        leaderboards.router,
        doctors.router,
        shares.router,
        symptoms.router,
        access_log.router,
        notifications.router,
        sse.router,
        study_sse.router,
    ):
        app.include_router(router, prefix="/api/v1")

    if WEB_DIR.is_dir():
        # The web client: its page at "/" and its assets under /static. Nothing is mounted
        # at "/" itself, so unknown API paths stay 404 and wrong methods stay 405. The page
        # learns the environment from <html data-env>: only a development server offers the
        # demo login (the demo account is seeded only outside production).
        page = (
            (WEB_DIR / "index.html")
            .read_text("utf-8")
            .replace("{{PARLEY_ENV}}", settings.env.value)
        )

        @app.get("/", include_in_schema=False)
        async def web_client() -> HTMLResponse:
            return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

        app.mount("/static", StaticFiles(directory=WEB_DIR), name="web")
    return app
