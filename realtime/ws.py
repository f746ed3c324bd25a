"""The WebSocket endpoint `/ws` (PROTOCOL.md). One multiplexed connection per client.

Per connection: an auth handshake, then one receive loop (a task) and one send loop (the
endpoint's own task); the first to end (client gone, server closing, too slow, token
expired) ends the other, and the socket is closed with the documented code. The
protocol's rules (what to accept, when to ping, when to close) are decided by the
Sans-I/O `SessionCore` (realtime/session_core.py); this module and ws_session.py only
carry them out. Each inbound frame gets its own short DB
session — never one session for the socket's life.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from typing import cast

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from domain import accounts, logcontext, metrics
from domain.errors import ErrorCode
from domain.events import UserRef
from domain.failures import classify
from domain.tasks import supervise
from edge.services import Services, services_of
from realtime import bot_frames, study_frames  # noqa: F401 - register their frames
from realtime.connection import CloseCode, Connection, FrameSink
from realtime.deps import hub_of
from realtime.server_frames import ErrorFrame, HelloFrame, dump
from realtime.session_core import SessionCore
from realtime.ws_session import WsSession, feed, limits, receive_until

log = logging.getLogger("parley.ws")
# The ASGI scope extension through which the server offers a prepared-frame writer.
FRAMES_EXTENSION = "parley.frames"
# A client that went away mid-read or mid-write: not a failure.
CLIENT_GONE = (WebSocketDisconnect, OSError)
PATH = "/ws"
router = APIRouter()


# Served through realtime/ws_fast_path.py, which calls this endpoint directly; the route
# stays so the app's routes are what they were (and a stack without it still serves /ws).
@router.websocket(PATH)
async def websocket_endpoint(websocket: WebSocket) -> None:
    services = services_of(websocket)
    settings = services.settings
    origin = websocket.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in settings.allowed_origins:
        # Closing before accept makes the server refuse the upgrade with 403.
        metrics.refused("forbidden_origin")
        await websocket.close(code=CloseCode.policy)
        return
    await websocket.accept()
    # The handshake's headers were read (Origin above; the request id and the client
    # address by the layers above) and nothing reads them again: authentication is in
    # band. Emptied in place, since the scope and Starlette's cached `Headers` share the
    # list, they stop costing ~0.7 KB per idle socket (more with a browser's cookies and
    # user agent; docs/decisions/0036).
    if isinstance(headers := websocket.scope.get("headers"), list):
        headers.clear()
    core = SessionCore(limits(settings), time.monotonic())
    session = await _authenticate(websocket, services, core)
    if session is None:
        return
    hub = session.hub
    conn = session.conn
    conn.sink = frame_sink(websocket)
    logcontext.connection_id.set(conn.id)  # on every log line of this connection
    hub.register(conn)
    conn.offer(dump(HelloFrame(node=hub.node, user=conn.user, heartbeat=settings.ws_heartbeat)))
    # The endpoint's own task writes; one task reads. No third task waits for the close:
    # `Connection.close` (from the reader, the hub or a revocation) ends the writer, and the
    # reader ending closes the connection. A loop that dies of a bug is logged once (with
    # its traceback) and the socket closes 1011; a client gone mid-send is not a failure.
    receiver = supervise(
        asyncio.create_task(session.receive_loop(), name=f"ws-recv-{conn.id}"), expected=CLIENT_GONE
    )
    receiver.add_done_callback(functools.partial(_reader_ended, conn))
    try:
        await _send_loop(websocket, conn)
    except CLIENT_GONE:
        pass
    except Exception as exc:
        log.error("send loop failed", exc_info=exc)
        conn.close(CloseCode.internal)
    finally:
        receiver.cancel()
        with contextlib.suppress(BaseException):
            await receiver
        await hub.disconnect(conn)
        log.info("connection closed", extra={"code": int(conn.close_code or CloseCode.normal)})
        await _close(websocket, conn.close_code or CloseCode.normal)


def _reader_ended(conn: Connection, task: asyncio.Task[None]) -> None:
    """The reader ended. Having closed the connection itself (the core's limits, a
    handler), the writer sends what is queued, then ends; a bug closes 1011 the same way;
    otherwise the client is gone and the writer ends at once."""
    failure = None if task.cancelled() else task.exception()
    if failure is not None and not isinstance(failure, CLIENT_GONE):
        conn.close(CloseCode.internal)
    else:
        conn.gone()  # a no-op when the connection was closed already


def frame_sink(websocket: WebSocket) -> FrameSink | None:
    """The server's prepared-frame writer (app/ws_protocol.py), if it offers one."""
    extension = (websocket.scope.get("extensions") or {}).get(FRAMES_EXTENSION)
    writer = extension.get("writer") if isinstance(extension, dict) else None
    return cast(FrameSink, writer) if writer is not None else None


async def _send_loop(websocket: WebSocket, conn: Connection) -> None:
    if conn.sink is not None:
        # Frames go straight to the socket when it is writable (Connection.offer); this
        # task only writes what queued up while it was backed up, in one write.
        await conn.pump(conn.sink)
        return
    while (frame := await conn.next()) is not None:
        await websocket.send_text(frame.text)
        metrics.delivered(frame.type, frame.published)


async def _close(websocket: WebSocket, code: CloseCode) -> None:
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code=int(code))


async def _authenticate(
    websocket: WebSocket, services: Services, core: SessionCore
) -> WsSession | None:
    """Feed the core until it has an `auth` frame, then check its token.

    The core refuses anything but a valid `auth` frame in time (`unauthorized`, 4001). A
    bad token is `unauthorized` then 4001 too; a dependency that fails while the token is
    checked is `unavailable` then 1011 (fail closed); a bug is `internal` then 1011. A
    client that went away gets nothing.
    """
    step = core.start()
    while step.authenticate is None:
        try:
            message = await receive_until(websocket, step.deadline, hub_of(websocket).deadlines)
        except WebSocketDisconnect:
            return None
        if message is not None and message["type"] == "websocket.disconnect":
            return None
        step = feed(core, message, time.monotonic())
        for reply in step.send:
            with contextlib.suppress(Exception):
                await websocket.send_text(dump(reply))
        if step.close is not None:
            await _close(websocket, step.close)
            return None
    auth = step.authenticate
    try:
        async with services.sessions() as db:
            user, claims = await accounts.resolve(db, services.broker, services.tokens, auth.token)
    except Exception as exc:  # noqa: BLE001 - every refusal is answered, a bug is logged
        core.closed()
        await _refuse_auth(websocket, exc, auth.ref)
        return None
    user_ref = UserRef(id=user.id, name=user.display_name)
    conn = Connection(user_ref, services.settings.ws_outbound_queue)
    session = WsSession(websocket, services, hub_of(websocket), conn, core)
    session.start(claims)
    return session


async def _refuse_auth(websocket: WebSocket, exc: Exception, ref: str | None) -> None:
    error = classify(exc)
    if error is None:
        log.error("authentication failed unexpectedly", exc_info=exc)
        code, message, close = ErrorCode.internal, "Authentication failed.", CloseCode.internal
    elif error.code is ErrorCode.unavailable:
        log.warning("authentication unavailable", extra={"error": type(exc).__name__})
        code, message, close = error.code, error.message, CloseCode.internal
    else:
        # Whatever else went wrong with the token, the answer is that it did not authenticate.
        code, close = ErrorCode.unauthorized, CloseCode.unauthorized
        internal = error.code is ErrorCode.internal
        message = "Authentication failed." if internal else error.message
    metrics.refused(code)
    with contextlib.suppress(Exception):
        await websocket.send_text(dump(ErrorFrame(ref=ref, code=code, message=message)))
    await _close(websocket, close)
