"""The WebSocket endpoint `/ws` (PROTOCOL.md). One multiplexed connection per client.

Per connection: an auth handshake, then one receive loop and one send loop; the first to
end (client gone, server closing, too slow, token expired) ends the other, and the socket
is closed with the documented code. Each inbound frame gets its own short DB session —
never one session for the socket's life.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from domain import accounts
from domain.errors import ErrorCode, Unauthorized
from domain.events import UserRef
from domain.failures import classify
from edge.services import Services, services_of
from realtime.connection import CloseCode, Connection
from realtime.deps import hub_of
from realtime.frames import AuthFrame, ErrorFrame, FrameError, HelloFrame, dump, parse_client_frame
from realtime.supervise import supervise
from realtime.ws_session import WsSession

log = logging.getLogger("parley.ws")
router = APIRouter()


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    services = services_of(websocket)
    settings = services.settings
    origin = websocket.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in settings.allowed_origins:
        # Closing before accept makes the server refuse the upgrade with 403.
        await websocket.close(code=CloseCode.policy)
        return
    await websocket.accept()
    session = await _authenticate(websocket, services)
    if session is None:
        return
    hub = session.hub
    conn = session.conn
    hub.register(conn)
    conn.offer(dump(HelloFrame(node=hub.node, user=conn.user, heartbeat=settings.ws_heartbeat)))
    # Supervised: a loop that dies of a bug is logged once (with its traceback) and the
    # socket closes 1011; a client that went away mid-send is not a failure.
    gone = (WebSocketDisconnect, OSError)
    receiver = supervise(
        asyncio.create_task(session.receive_loop(), name=f"ws-recv-{conn.id}"), expected=gone
    )
    sender = supervise(
        asyncio.create_task(_send_loop(websocket, conn), name=f"ws-send-{conn.id}"), expected=gone
    )
    closer = asyncio.create_task(conn.wait_closed(), name=f"ws-close-{conn.id}")
    try:
        done, _ = await asyncio.wait(
            {receiver, sender, closer}, return_when=asyncio.FIRST_COMPLETED
        )
        for task in done & {receiver, sender}:
            failure = None if task.cancelled() else task.exception()
            if failure is not None and not isinstance(failure, gone):
                conn.close(CloseCode.internal)
    finally:
        for task in (receiver, sender, closer):
            task.cancel()
        for task in (receiver, sender, closer):
            with contextlib.suppress(BaseException):
                await task
        await hub.disconnect(conn)
        await _close(websocket, conn.close_code or CloseCode.normal)


async def _send_loop(websocket: WebSocket, conn: Connection) -> None:
    while (frame := await conn.next()) is not None:
        await websocket.send_text(frame.text)


async def _close(websocket: WebSocket, code: CloseCode) -> None:
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code=int(code))


async def _authenticate(websocket: WebSocket, services: Services) -> WsSession | None:
    """Wait for the `auth` frame (10 s); on any failure answer `error` and close.

    Anything but a valid `auth` frame — binary, oversized, malformed, another type, a bad
    token — is `unauthorized` then 4001, as is the timeout. A dependency that fails while
    the token is checked is `unavailable` then 1011 (fail closed); a bug is `internal`
    then 1011. A client that went away gets nothing.
    """
    settings = services.settings
    ref: str | None = None
    try:
        try:
            async with asyncio.timeout(settings.ws_auth_timeout):
                message = await websocket.receive()
        except TimeoutError:
            raise Unauthorized("No auth frame within the deadline.") from None
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if not isinstance(text, str):
            raise Unauthorized("The first frame must be a JSON text frame {'type': 'auth'}.")
        if len(text.encode()) > settings.ws_max_frame_bytes:
            raise Unauthorized("The frame is too large.")
        frame = parse_client_frame(text)
        ref = frame.ref
        if not isinstance(frame, AuthFrame):
            raise Unauthorized("The first frame must be {'type': 'auth'}.")
        async with services.sessions() as db:
            user, claims = await accounts.resolve(db, services.broker, services.tokens, frame.token)
    except WebSocketDisconnect:
        return None
    except Exception as exc:  # noqa: BLE001 - every refusal is answered, a bug is logged
        await _refuse_auth(websocket, exc, ref)
        return None
    conn = Connection(UserRef(id=user.id, name=user.display_name), settings.ws_outbound_queue)
    return WsSession(websocket, services, hub_of(websocket), conn, claims)


async def _refuse_auth(websocket: WebSocket, exc: Exception, ref: str | None) -> None:
    error = classify(exc)
    if error is None:
        log.error("authentication failed unexpectedly", exc_info=exc)
        code, message, close = ErrorCode.internal, "Authentication failed.", CloseCode.internal
    elif error.code is ErrorCode.unavailable:
        log.warning("authentication unavailable", extra={"error": type(exc).__name__})
        code, message, close = error.code, error.message, CloseCode.internal
    else:
        # Whatever was wrong with the first frame, the answer is that it did not authenticate.
        code, close = ErrorCode.unauthorized, CloseCode.unauthorized
        message = (
            f"The first frame must be a valid {{'type': 'auth'}} frame: {error.message}"
            if isinstance(exc, FrameError)
            else error.message
            if error.code is not ErrorCode.internal
            else "Authentication failed."
        )
    with contextlib.suppress(Exception):
        await websocket.send_text(dump(ErrorFrame(ref=ref, code=code, message=message)))
    await _close(websocket, close)
