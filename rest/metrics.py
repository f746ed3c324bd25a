"""GET /metrics: Prometheus exposition of every worker's instruments (domain/metrics.py).

Under `parley serve` every uvicorn worker writes its values to memory-mapped files in
PROMETHEUS_MULTIPROC_DIR (the client library's multiprocess mode, set up by app/cli.py),
and whichever worker answers a scrape reads them all: counters and histograms are summed
over every worker that ever ran since the server started, gauges over the live ones
(docs/decisions/0024-metrics-multiprocess-mode.md). Without that variable (one process,
tests) the process's own registry is exposed.

When `PARLEY_METRICS_TOKEN` is set the endpoint requires it as a bearer token (401
otherwise, the REST error schema); compared in constant time.
"""

from __future__ import annotations

import hmac
import os
import re
from pathlib import Path

import anyio
import psutil
from fastapi import APIRouter, Request, Response
from fastapi.security.utils import get_authorization_scheme_param
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from domain.errors import Unauthorized
from edge.errors import error_responses
from edge.services import ServicesDep

router = APIRouter(tags=["operations"])

_LIVE_FILE = re.compile(r"gauge_live\w*?_(\d+)\.db")


def multiprocess_dir() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def forget_dead_workers(directory: Path) -> None:
    """Drop the live-gauge files of workers that are gone (killed, crashed), so their
    connections stop counting. Counters and histograms stay: totals never go down."""
    for path in directory.glob("gauge_live*.db"):
        match = _LIVE_FILE.fullmatch(path.name)
        if match is not None and not psutil.pid_exists(int(match.group(1))):
            multiprocess.mark_process_dead(int(match.group(1)), str(directory))  # type: ignore[no-untyped-call]


def exposition() -> bytes:
    """The text format over every worker (blocking file reads: run in a thread)."""
    directory = multiprocess_dir()
    if directory is None:
        return generate_latest(REGISTRY)
    forget_dead_workers(directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def _authorized(request: Request, expected: str) -> bool:
    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), expected.encode())


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format."},
        **error_responses(401),
    },
)
async def metrics(request: Request, services: ServicesDep) -> Response:
    """Every worker's metrics (docs/operations.md lists them)."""
    token = services.settings.metrics_token
    if token is not None and not _authorized(request, token.get_secret_value()):
        raise Unauthorized("Metrics need 'Authorization: Bearer <PARLEY_METRICS_TOKEN>'.")
    body = await anyio.to_thread.run_sync(exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def forget_this_worker() -> None:
    """A worker shutting down cleanly: its live gauges stop counting now."""
    directory = multiprocess_dir()
    if directory is not None:
        multiprocess.mark_process_dead(os.getpid(), str(directory))  # type: ignore[no-untyped-call]
