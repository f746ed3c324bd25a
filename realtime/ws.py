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

from app.services import Services
from domain import accounts
from domain.errors import DomainError, ErrorCode
from domain.events import UserRef
from realtime.connection import CloseCode, Connection
from realtime.frames import AuthFrame, ErrorFrame, FrameError, HelloFrame, dump, parse_client_frame
from realtime.ws_session import WsSession

log = logging.getLogger("parley.ws")
router = APIRouter()


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
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
    hub = services.hub
    conn = session.conn
    hub.register(conn)
    conn.offer(dump(HelloFrame(node=hub.node, user=conn.user, heartbeat=settings.ws_heartbeat)))
    receiver = asyncio.create_task(session.receive_loop(), name=f"ws-recv-{conn.id}")
    sender = asyncio.create_task(_send_loop(websocket, conn), name=f"ws-send-{conn.id}")
    closer = asyncio.create_task(conn.wait_closed(), name=f"ws-close-{conn.id}")
    try:
        await asyncio.wait({receiver, sender, closer}, return_when=asyncio.FIRST_COMPLETED)
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
    """Wait for the `auth` frame (10 s); on any failure answer `error` and close 4001."""
    settings = services.settings
    ref: str | None = None
    try:
        text = await asyncio.wait_for(websocket.receive_text(), settings.ws_auth_timeout)
        if len(text.encode()) > settings.ws_max_frame_bytes:
            raise FrameError(ErrorCode.too_large, "The frame is too large.", ref=None)
        frame = parse_client_frame(text)
        ref = frame.ref
        if not isinstance(frame, AuthFrame):
            raise FrameError(
                ErrorCode.unauthorized, "The first frame must be {'type': 'auth'}.", ref=ref
            )
        async with services.sessions() as db:
            user, claims = await accounts.resolve(db, services.broker, services.tokens, frame.token)
    except (TimeoutError, WebSocketDisconnect, KeyError, RuntimeError):
        await _close(websocket, CloseCode.unauthorized)
        return None
    except DomainError as exc:
        message = exc.message if exc.code is not ErrorCode.internal else "Authentication failed."
        with contextlib.suppress(Exception):
            await websocket.send_text(
                dump(ErrorFrame(ref=ref, code=ErrorCode.unauthorized, message=message))
            )
        await _close(websocket, CloseCode.unauthorized)
        return None
    except Exception:
        log.exception("authentication failed unexpectedly")
        await _close(websocket, CloseCode.internal)
        return None
    conn = Connection(UserRef(id=user.id, name=user.display_name), settings.ws_outbound_queue)
    return WsSession(websocket, services, conn, claims)
