"""The way in to `/ws`: straight from the outermost user middleware to the endpoint.

A WebSocket lives for hours, and every ASGI layer between the server and the endpoint
stays suspended for all of it: through the FastAPI chain an idle connection held 13 more
coroutine frames, a second Starlette `WebSocket`, three `AsyncExitStack`s (a deque each)
and their closures, ~10 KB of its ~26 KB of live objects
(docs/decisions/0032-websocket-fast-path.md). The
endpoint takes no FastAPI dependency and does its own Origin check and authentication,
so those layers did nothing for it but this module's three jobs, kept here:

- the request id of the connection's log lines (as `edge/http_telemetry.py` sets it);
- a bug that escapes the endpoint is logged once, with its traceback, and the client gets
  a close 1011 (or a 500 refusal before the handshake completed), never a traceback; a
  client that went away is not a failure and is not logged;
- everything that is not a WebSocket on `/ws` goes down the normal chain untouched.

The route stays registered on the FastAPI router (realtime/ws.py), so the app's routes
are unchanged; while this middleware is installed, no `/ws` socket reaches it.
"""

from __future__ import annotations

import contextlib
import logging

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState

from domain import logcontext
from edge.http_telemetry import request_id_of
from realtime.connection import CloseCode
from realtime.ws import CLIENT_GONE, PATH, websocket_endpoint

log = logging.getLogger("parley.ws")
# What an ASGI server that offers it lets the app answer a handshake with (ASGI spec,
# "Websocket Denial Response"); uvicorn's protocols and Starlette's TestClient do.
_DENIAL = "websocket.http.response"


class WebSocketFastPath:
    """Pure ASGI middleware: a WebSocket scope for `/ws` runs the endpoint in this frame;
    anything else is passed to `app`. Added last (outermost of the user middlewares) in
    app/main.py: only Starlette's ServerErrorMiddleware and FastAPI's exception-telemetry
    and body-limit middlewares, which pass a WebSocket straight through, sit above it."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or _route_path(scope) != PATH:
            await self.app(scope, receive, send)
            return
        logcontext.request_id.set(request_id_of(scope))
        # scope["app"] was set by Starlette.__call__: services_of() and hub_of() work.
        websocket = WebSocket(scope, receive, send)
        try:
            await websocket_endpoint(websocket)
        except CLIENT_GONE:
            pass
        except Exception as exc:
            log.error("websocket endpoint failed", exc_info=exc)
            await _fail(websocket)


async def _fail(websocket: WebSocket) -> None:
    """Tell the client the server failed, without detail: 1011 on an open socket, a plain
    500 when the handshake was never answered. The client may be gone already."""
    with contextlib.suppress(Exception):
        if websocket.application_state == WebSocketState.CONNECTED:
            await websocket.close(code=int(CloseCode.internal))
        elif websocket.application_state == WebSocketState.CONNECTING:
            if _DENIAL in (websocket.scope.get("extensions") or {}):
                await websocket.send_denial_response(
                    PlainTextResponse("Internal Server Error", status_code=500)
                )
            else:
                await websocket.close(code=int(CloseCode.internal))


def _route_path(scope: Scope) -> str:
    """The path the router would match: `path` without the `root_path` prefix (the rule of
    Starlette's router, so a deployment under a prefix reaches `/ws` the same way)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path
