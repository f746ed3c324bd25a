"""The `parley` command: serve, migrate, seed, token."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from app import embedded, logs
from app.settings import Environment, Settings, get_settings

log = logging.getLogger("parley.cli")
ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def services_up(settings: Settings) -> Iterator[Settings]:
    """Ensure a database and Redis: the configured ones, else embedded ones (stopped after)."""
    need_db = not settings.database_url
    need_redis = not settings.redis_url and settings.broker == "redis"
    emb = embedded.start(settings.data_dir, database=need_db, redis=need_redis)
    try:
        embedded.export(emb)
        get_settings.cache_clear()
        yield get_settings()
    finally:
        emb.stop()


def migrate(settings: Settings, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    assert settings.database_url
    cfg.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    command.upgrade(cfg, revision)


def _seed(settings: Settings, *, only_if_empty: bool) -> None:
    from app.security import passwords
    from domain.seed import seed_database

    created = asyncio.run(
        seed_database(
            settings.database_url or "",
            passwords(settings),
            only_if_empty=only_if_empty,
            reveal_seconds=settings.quiz_reveal_seconds,
        )
    )
    if created:
        log.info("seeded demo data", extra=created)


def metrics_dir(settings: Settings) -> Path:
    """PROMETHEUS_MULTIPROC_DIR for this server's workers (docs/decisions/0024), emptied.

    Set before anything imports prometheus_client (the workers inherit it). An operator's
    own directory is used when set; either way last run's files go, or its counters would
    be added to this run's."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    directory = Path(configured) if configured else settings.data_dir / "metrics"
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory.resolve())
    return directory


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = get_settings()
    metrics_dir(settings)
    with services_up(settings) as ready:
        migrate(ready)
        if ready.env is not Environment.production:  # never a known demo password in prod
            _seed(ready, only_if_empty=True)
        print(f"\n  Parley is running at http://{args.host}:{args.port}/  (API docs: /docs)\n")
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            ws="app.ws_protocol:ParleyWebSocketProtocol",  # frames written once (0017)
            ws_max_size=1024 * 1024,
            ws_per_message_deflate=False,  # memory per socket matters more than bandwidth
            ws_ping_interval=ready.ws_heartbeat,
            ws_ping_timeout=ready.ws_heartbeat,
            timeout_graceful_shutdown=10,
            log_config=None,
            access_log=args.access_log,
        )


def cmd_migrate(args: argparse.Namespace) -> None:
    with services_up(get_settings()) as ready:
        migrate(ready, args.revision)


def cmd_seed(args: argparse.Namespace) -> None:
    with services_up(get_settings()) as ready:
        migrate(ready)
        _seed(ready, only_if_empty=not args.force)


def cmd_token(args: argparse.Namespace) -> None:
    from app.security import token_codec
    from domain import accounts
    from domain.security import TokenKind
    from models.db import make_engine, make_sessionmaker

    async def issue(settings: Settings) -> str:
        engine = make_engine(settings.database_url or "", pool_size=1, max_overflow=1)
        try:
            async with make_sessionmaker(engine)() as session:
                user = await accounts.service_account(session, args.service)
            return token_codec(settings).issue(
                user.id, user.role.value, TokenKind.service, ttl=timedelta(days=args.days)
            )
        finally:
            await engine.dispose()

    with services_up(get_settings()) as ready:
        migrate(ready)
        print(asyncio.run(issue(ready)))


def cmd_bridge(args: argparse.Namespace) -> None:
    """A bridge is a client of the protocol: it needs no database or Redis of its own."""
    from bridges.telegram.main import run
    from bridges.telegram.settings import BridgeSettings

    asyncio.run(run(BridgeSettings()))  # every field from the environment


def cmd_status(args: argparse.Namespace) -> None:
    """The live nodes from Redis (the same list as GET /api/v1/admin/nodes)."""
    from broker.redis import RedisBroker
    from domain.nodes import live_nodes

    settings = get_settings()
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set: `parley status` reads the cluster's Redis.")

    async def read() -> list[str]:
        broker = RedisBroker(settings.redis_url or "", "status", prefix=settings.redis_prefix)
        try:
            found = await live_nodes(broker, settings.presence_ttl_seconds)
        finally:
            await broker.close()
        now = time.time()
        rows = [f"{'NODE':<40} {'UP':>8} {'CONNS':>6} {'SUBS':>6} {'CHANS':>6} {'SEEN':>5}"]
        rows += [
            f"{n.node:<40} {_age(now - n.started_at):>8} {n.connections:>6} "
            f"{n.subscriptions:>6} {n.channels:>6} {now - n.at:>4.0f}s"
            for n in found
        ]
        rows.append(f"{len(found)} live node(s)")
        return rows

    print("\n".join(asyncio.run(read())))


def _age(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def cmd_demo(args: argparse.Namespace) -> None:
    """A demo only: refused in production (it registers throwaway members)."""
    if get_settings().env is Environment.production:
        raise RuntimeError("`parley demo` is a demo and is refused when PARLEY_ENV=production.")
    from app.demo import run_demo

    asyncio.run(run_demo(args.url, args.members, args.seconds))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="parley", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate, seed if empty, and serve")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=2)
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(func=cmd_serve)

    mig = sub.add_parser("migrate", help="upgrade the database schema")
    mig.add_argument("revision", nargs="?", default="head")
    mig.set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed", help="load the NEET question bank and a demo user")
    seed.add_argument(
        "--force", action="store_true", help="add the demo data even if users already exist"
    )
    seed.set_defaults(func=cmd_seed)

    token = sub.add_parser("token", help="issue a service-account token (admin)")
    token.add_argument("--service", required=True, help="bridge name, e.g. telegram")
    token.add_argument("--days", type=int, default=365)
    token.set_defaults(func=cmd_token)

    bridge = sub.add_parser("bridge", help="run a bridge (a separate process): telegram")
    bridge.add_argument("which", choices=["telegram"])
    bridge.set_defaults(func=cmd_bridge)
    status = sub.add_parser("status", help="list the live nodes and their load (from Redis)")
    status.set_defaults(func=cmd_status)

    demo = sub.add_parser("demo", help="DEMO: simulated members play a live quiz session")
    demo.add_argument("what", choices=["quiz"])
    demo.add_argument("--url", default="http://127.0.0.1:8000", help="a running Parley")
    demo.add_argument("--members", type=int, default=4)
    demo.add_argument("--seconds", type=int, default=15, help="seconds per question")
    demo.set_defaults(func=cmd_demo)

    args = parser.parse_args(argv)
    settings = get_settings()
    logs.configure(settings.log_level, settings.log_format)
    try:
        args.func(args)
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # noqa: BLE001 - the CLI reports any failure as one line, exit 1
        log.error("parley %s failed: %s", args.command, exc)
        sys.exit(1)
