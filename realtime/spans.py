"""One tracing span per client frame, and nothing at all when tracing is off.

The OpenTelemetry API's no-op tracer still costs about 10 µs a span (a context attach and
detach); a frame should not pay that on a server that traces nothing. Whether a real
tracer provider is installed is read at the first frame (app/tracing.py installs it while
the app is built, before any connection) and kept.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from functools import cache

from opentelemetry import trace
from opentelemetry.trace import ProxyTracerProvider, Tracer

_OFF = contextlib.nullcontext()


@cache
def _tracer() -> Tracer | None:
    provider = trace.get_tracer_provider()
    return None if isinstance(provider, ProxyTracerProvider) else provider.get_tracer("parley.ws")


def frame_span(frame_type: str) -> AbstractContextManager[object]:
    """`ws <type>` around handling one client frame, when tracing is on."""
    tracer = _tracer()
    return _OFF if tracer is None else tracer.start_as_current_span(f"ws {frame_type}")
