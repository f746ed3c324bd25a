"""ASGI middleware: a request id for every HTTP request and WebSocket, and the HTTP metrics.

Each request gets an id (the caller's `X-Request-ID` when it is a short token of safe
characters, else a new one), set in `domain.logcontext` for every log line of the request
and echoed in the `X-Request-ID` response header. Requests are counted and timed by route
*template* (`/api/v1/rooms/{room_id}`), never the raw path, so no id reaches a label;
unmatched paths share one label.
"""

from __future__ import annotations

import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain import logcontext, metrics

_SAFE_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
UNMATCHED = "unmatched"


def _route_of(scope: Scope) -> str:
    """The matched route's template: the path with each path parameter's value put back
    as `{name}` (routers included with a prefix do not expose a full template)."""
    if scope.get("route") is None:
        return UNMATCHED
    path: str = scope["path"]
    params: dict[str, object] = scope.get("path_params") or {}
    if not params:
        return path
    by_value = {str(v): k for k, v in params.items()}
    tail = next((v for v in by_value if "/" in v), None)
    if tail is not None and path.endswith(tail):  # a `{name:path}` parameter (mounts)
        path = path[: -len(tail)] + "{" + by_value[tail] + "}"
    segments = [f"{{{by_value[s]}}}" if s in by_value else s for s in path.split("/")]
    return "/".join(segments)


def request_id_of(scope: Scope) -> str:
    """The caller's `X-Request-ID` when it is a short token of safe characters, else a
    new one. The WebSocket fast path (realtime/ws_fast_path.py) uses it too."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id" and _SAFE_ID.fullmatch(value):
            return str(value.decode())
    return uuid.uuid4().hex[:16]


class HttpTelemetry:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            logcontext.request_id.set(request_id_of(scope))
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope)
        token = logcontext.request_id.set(rid)
        started = time.perf_counter()
        status = 500  # what the client sees when the app fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route, method = _route_of(scope), scope["method"]
            metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
            metrics.HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)
            logcontext.request_id.reset(token)
