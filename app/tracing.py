"""OpenTelemetry tracing: off unless the standard OTEL_* variables switch it on.

On when `OTEL_TRACES_EXPORTER` names an exporter (`otlp`, `console`; a comma list) or an
OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT` / `..._TRACES_ENDPOINT`, exporter
`otlp`), and `OTEL_SDK_DISABLED` is not `true`. Everything else (service name, resource
attributes, sampler, OTLP headers and protocol details) is read by the SDK from its own
standard variables. When on: FastAPI (HTTP and the WebSocket upgrade), SQLAlchemy, redis-py
and the OpenAI client are instrumented with the maintained instrumentation packages, and
each client frame on a WebSocket gets its own span (realtime/ws_session.py), so a `send`
is one trace through PostgreSQL and Redis to the fan-out (docs/decisions/0025).

SQL statements are recorded as their text with bound parameters left out (the
instrumentation never records parameter values), and OpenAI message content is not
captured (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT stays unset): no message text
or health data reaches a span.
"""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("parley.tracing")

_state: dict[str, bool] = {}


def exporters() -> list[str]:
    """The trace exporters the environment asks for; [] means tracing is off."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    named = [
        e.strip().lower()
        for e in os.environ.get("OTEL_TRACES_EXPORTER", "").split(",")
        if e.strip() and e.strip().lower() != "none"
    ]
    if named:
        return named
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        return ["otlp"]
    return []


def enabled() -> bool:
    return bool(exporters())


def _setup() -> bool:
    """Install the tracer provider and the library instrumentations, once per process."""
    if "on" in _state:
        return _state["on"]
    names = exporters()
    _state["on"] = bool(names)
    if not names:
        return False
    from opentelemetry import trace
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
        SpanExporter,
    )

    resource = Resource.create({"service.name": "parley"}).merge(OTELResourceDetector().detect())
    provider = TracerProvider(resource=resource)
    for name in names:
        exporter: SpanExporter
        if name == "console":
            # Written as each span ends: it is for development and tests, not throughput.
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        elif name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
            provider.add_span_processor(BatchSpanProcessor(exporter))
        else:
            log.warning("unknown OTEL_TRACES_EXPORTER entry ignored", extra={"exporter": name})
    trace.set_tracer_provider(provider)
    RedisInstrumentor().instrument()
    _instrument_openai()
    log.info("tracing on", extra={"exporters": ",".join(names)})
    return True


def _instrument_openai() -> None:
    """Best effort: the OpenAI instrumentation is a beta whose helper package moves under
    it; a broken install must not stop the server (the HTTP call is still traced as the
    bot's own span tree through FastAPI/Redis/SQLAlchemy)."""
    try:
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument()  # type: ignore[no-untyped-call]
    except ImportError as exc:
        log.warning("OpenAI instrumentation unavailable", extra={"error": str(exc)})


def instrument_app(app: FastAPI) -> None:
    """Instrument the app's HTTP and WebSocket routes when tracing is on; else nothing."""
    if _setup():
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")


def instrument_engine(engine: AsyncEngine) -> None:
    """Instrument one engine's queries when tracing is on; else nothing."""
    if _setup():
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        # Its declared range stops at SQLAlchemy < 2.1; the 2.1 engine events it uses are the
        # same, and the send-trace test checks the spans really appear.
        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, skip_dep_check=True)
