"""Tracing is off by default and on with the standard OTEL_* variables: a `send` frame is
one trace through PostgreSQL and Redis (console exporter, read from the server's output)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app import tracing
from tests.backing import Backing
from tests.conftest import make_settings
from tests.servers import ServerProcess
from tests.support import Api

pytestmark = pytest.mark.processes


def test_tracing_is_off_unless_an_exporter_or_endpoint_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert tracing.exporters() == []
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert tracing.exporters() == []
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert tracing.exporters() == ["otlp"]
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console,otlp")
    assert tracing.exporters() == ["console", "otlp"]
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing.exporters() == []


@pytest.fixture
async def traced(
    db: AsyncEngine, backing: Backing, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    settings = make_settings(backing, redis_prefix, tmp_path_factory.mktemp("traced"))
    proc = ServerProcess(
        settings, env={"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "parley-test"}
    )
    proc.start()
    try:
        await proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def spans(text: str) -> list[dict[str, Any]]:
    """The JSON objects the console exporter printed (one per span, pretty-printed)."""
    found = []
    decoder = json.JSONDecoder()
    for match in re.finditer(r'^\{\n\s+"name"', text, re.MULTILINE):
        obj, _ = decoder.raw_decode(text, match.start())
        found.append(obj)
    return found


# On a Redis that has not run Parley's scripts yet (a fresh embedded one), redis-py's
# EVALSHA gets NOSCRIPT and falls back to EVAL: the Redis instrumentation records that
# expected exception, stack trace included, in a span the console exporter prints.
@pytest.mark.expect_log(r"NoScriptError: No matching script")
async def test_a_send_frame_is_one_trace_through_postgres_and_redis(traced: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=traced.url, timeout=10) as http:
        api = Api(http, traced.ws_url)
        asha = await api.user("Asha")
        room = await api.room(asha)
        ws = await api.ws(asha)
        await ws.subscribe(f"room:{room}")
        await ws.send_message(f"room:{room}", "traced hello")
        await ws.close()

    def send_trace() -> list[dict[str, Any]]:
        """The `ws send` span and every span below it (the connection's own span is the
        root of everything on the socket, so sharing a trace id alone would prove little)."""
        all_spans: list[dict[str, Any]] = spans(traced.log_path.read_text(errors="replace"))
        roots = [s for s in all_spans if s["name"] == "ws send"]
        if not roots:
            return []
        tree = [roots[-1]]
        ids = {roots[-1]["context"]["span_id"]}
        grew = True
        while grew:
            below = [s for s in all_spans if s.get("parent_id") in ids and s not in tree]
            tree += below
            ids |= {s["context"]["span_id"] for s in below}
            grew = bool(below)
        return tree

    deadline = time.monotonic() + 15
    while True:
        trace = send_trace()
        names = " ".join(str(s["name"]) for s in trace)
        # The message is stored (PostgreSQL) and published by the durable-publish script
        # (EVALSHA: history append + PUBLISH in one round trip) inside the frame's span.
        if "postgresql" in json.dumps(trace) and "EVALSHA" in names:
            break
        assert time.monotonic() < deadline, f"no complete send trace: {names!r}"
        await asyncio.sleep(0.2)
    assert "traced hello" not in json.dumps(trace)  # statements, never values
