"""What one authenticated WebSocket does with the frames it receives: the I/O shell around
`SessionCore` (realtime/session_core.py), and the registry of frame handlers.

The receive loop reads the socket with the core's deadline, feeds what arrived (or a tick)
to the core and carries out its `Step`: send its frames, close with its code, or hand its
accepted frame to the frame's handler. A refusal is an `error` frame with the request's
`ref` and the connection stays open; only the limits documented as close codes close it.

Adding a frame type is one module: a frame model and a handler registered with `handles`,

    class CancelFrame(ClientFrame):
        type: Literal["cancel"]
        stream: str

    @handles(CancelFrame)
    async def cancel(session: WsSession, frame: CancelFrame) -> None: ...

and imported once from realtime/ws.py, so it is registered before the first frame.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import WebSocket
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError
from starlette.types import Message

from app.settings import Settings
from domain import accounts, chat
from domain.errors import DomainError, ErrorCode, Forbidden, Invalid
from domain.events import TypingEvent
from domain.failures import classify
from domain.security import TokenClaims
from edge.services import Services
from realtime.channels import StreamPosition, parse_channel
from realtime.client_frames import (
    ClientFrame,
    PingFrame,
    PongFrame,
    ReadFrame,
    RefreshFrame,
    SendFrame,
    SubscribeFrame,
    TypingFrame,
    UnsubscribeFrame,
)
from realtime.connection import Connection
from realtime.deadlines import Deadlines
from realtime.frame_parser import FrameError, register_client_frame
from realtime.hub import Hub
from realtime.server_frames import (
    AckFrame,
    ErrorFrame,
    MarkedFrame,
    RefreshedFrame,
    ServerPongFrame,
    UnsubscribedFrame,
    dump,
)
from realtime.session_core import Limits, SessionCore, Step
from realtime.spans import frame_span

log = logging.getLogger("parley.ws")

F = TypeVar("F", bound=ClientFrame)
Handler = Callable[["WsSession", F], Awaitable[None]]
# Frame model -> its handler. Filled by `handles` at import time, read by `WsSession.handle`.
_HANDLERS: dict[type[ClientFrame], Handler[Any]] = {}


def handles(model: type[F]) -> Callable[[Handler[F]], Handler[F]]:
    """Register `handler` for frames of `model` (and make `model` parseable).

    The handler answers through `session.reply`, or raises a `DomainError` (answered as an
    `error` frame with the frame's ref) — any other exception is classified by
    domain/failures.py. It runs after the core accepted the frame (auth, size, rate). A
    second handler for the same model is a bug and raises ValueError.
    """
    register_client_frame(model)

    def register(handler: Handler[F]) -> Handler[F]:
        if _HANDLERS.setdefault(model, handler) is not handler:
            raise ValueError(f"{model.__name__} already has a handler")
        return handler

    return register


def limits(settings: Settings) -> Limits:
    """The core's limits from the settings."""
    return Limits(
        heartbeat=settings.ws_heartbeat,
        auth_timeout=settings.ws_auth_timeout,
        max_frame_bytes=settings.ws_max_frame_bytes,
        rate_per_second=settings.ws_rate_per_second,
        rate_burst=settings.ws_rate_burst,
    )


async def receive_until(
    websocket: WebSocket, deadline: float | None, deadlines: Deadlines
) -> Message | None:
    """The next ASGI message, or None when `deadline` (monotonic) passed first.

    The deadline is kept by the worker's `Deadlines` (realtime/deadlines.py), not a timer
    per socket: noticed up to 0.1 s late, and nothing that arrived is lost."""
    if deadline is None:
        return await websocket.receive()
    bucket = deadlines.enter(deadline)
    try:
        return await websocket.receive()
    except asyncio.CancelledError:
        if deadlines.expired():
            return None
        raise
    finally:
        deadlines.leave(bucket)


def feed(core: SessionCore, message: Message | None, now: float) -> Step:
    """Give the core what arrived: a tick (nothing), a text or a binary frame."""
    if message is None:
        return core.tick(now)
    text = message.get("text")
    if isinstance(text, str):
        return core.receive_text(text, now)
    return core.receive_binary(now)


def monotonic_expiry(claims: TokenClaims) -> float:
    """The token's expiry in the monotonic clock the core runs on."""
    return time.monotonic() + (claims.expires_at.timestamp() - time.time())


class WsSession:
    # Slots: one of these lives as long as its connection (thousands per worker).
    __slots__ = ("conn", "core", "hub", "services", "settings", "typing_sent", "websocket")

    def __init__(
        self,
        websocket: WebSocket,
        services: Services,
        hub: Hub,
        conn: Connection,
        core: SessionCore,
    ) -> None:
        self.websocket = websocket
        self.services = services
        self.settings = services.settings
        self.hub = hub
        self.conn = conn
        self.core = core
        self.typing_sent: dict[str, float] = {}

    def start(self, claims: TokenClaims) -> None:
        """The `auth` frame's token was accepted: open the core until it expires."""
        self.conn.jti = claims.jti  # live authorization: logout of this token closes the socket
        self.core.authenticated(monotonic_expiry(claims), time.monotonic())

    def reply(self, frame: BaseModel) -> None:
        """Queue a server frame (any frame model; see realtime/server_frames.py `dump`)."""
        self.conn.offer(dump(frame))

    def refuse(
        self,
        code: ErrorCode,
        message: str,
        ref: str | None,
        details: object = None,
        retry_after: int | None = None,
    ) -> None:
        self.send_error(
            ErrorFrame(
                ref=ref, code=code, message=message, details=details, retry_after=retry_after
            )
        )

    def send_error(self, frame: ErrorFrame) -> None:
        try:
            self.reply(frame)
        except (ValueError, PydanticSerializationError):
            # Something in it cannot be encoded: an answer without the extras still tells
            # the client what happened; no answer at all would leave it waiting.
            self.reply(
                ErrorFrame(code=frame.code, message=frame.message, retry_after=frame.retry_after)
            )

    async def receive_loop(self) -> None:
        """Until the client goes, the core closes, or a handler closed the connection."""
        deadline = self.core.deadline()
        # Each message is taken in a call of its own: its ASGI message, text, parsed frame
        # and step are freed when the call returns, not kept as this frame's locals while
        # the next receive waits (hours, on an idle socket; ~1 KB each, docs/decisions/0036).
        while not await self._take(
            await receive_until(self.websocket, deadline, self.hub.deadlines)
        ):
            # A handler may have moved the deadline (refresh): ask the core, not the step.
            deadline = self.core.deadline()

    async def _take(self, message: Message | None) -> bool:
        """Carry out what the core makes of `message` (None: its deadline passed); True
        when the receive loop is over."""
        if message is not None and message["type"] == "websocket.disconnect":
            self.core.closed()
            return True
        step = feed(self.core, message, time.monotonic())
        for frame in step.send:
            self.send_error(frame) if isinstance(frame, ErrorFrame) else self.reply(frame)
        if step.close is not None:
            self.conn.close(step.close)
            return True
        if step.dispatch is not None:
            await self.handle(step.dispatch)
            if self.conn.close_code is not None:
                self.core.closed()
                return True
        return False

    async def handle(self, frame: ClientFrame) -> None:
        """Answer one accepted frame. Whatever goes wrong, the frame's `ref` gets an answer."""
        try:
            handler = _HANDLERS.get(type(frame))
            if handler is None:
                raise FrameError(
                    ErrorCode.unknown_type, "This frame is not accepted here.", ref=frame.ref
                )
            with frame_span(getattr(frame, "type", "?")):
                await handler(self, frame)
        except Exception as exc:  # noqa: BLE001 - every failure is answered and logged once
            self.fail(exc, frame)

    def fail(self, exc: Exception, frame: ClientFrame) -> None:
        """The one place a failure while handling a frame becomes an `error` frame."""
        if isinstance(exc, FrameError):
            self.refuse(exc.code, exc.message, exc.ref, exc.details)
            return
        if isinstance(exc, DomainError):
            self.refuse(exc.code, exc.message, frame.ref, exc.details, exc.retry_after)
            return
        kind = getattr(frame, "type", None)
        extra = {"conn": self.conn.id, "frame": kind, "error": type(exc).__name__}
        error = classify(exc)
        if error is None:
            log.error("frame handling failed", exc_info=exc, extra=extra)
            self.refuse(ErrorCode.internal, "Something went wrong on our side.", frame.ref)
            return
        # An outage (or a value only the database refused): the client's answer says it all,
        # and a traceback per frame during an outage would drown the log.
        log.warning("frame refused: %s", error.code.value, extra=extra)
        self.refuse(error.code, error.message, frame.ref)

    def room_of(self, channel: str) -> int:
        kind, key = parse_channel(channel)
        if kind != "room":
            raise Invalid("Only room channels accept this frame.")
        return key


# --- the built-in frames --------------------------------------------------------------------


@handles(PingFrame)
async def ping(session: WsSession, frame: PingFrame) -> None:
    session.reply(ServerPongFrame(ref=frame.ref))


@handles(PongFrame)
async def pong(session: WsSession, frame: PongFrame) -> None:
    """Nothing to do: the core already counted it as a sign of life."""


@handles(SubscribeFrame)
async def subscribe(session: WsSession, frame: SubscribeFrame) -> None:
    at = StreamPosition(frame.stream.id, frame.stream.index) if frame.stream else None
    await session.hub.subscribe(session.conn, frame.channel, frame.since, frame.ref, at)


@handles(UnsubscribeFrame)
async def unsubscribe(session: WsSession, frame: UnsubscribeFrame) -> None:
    await session.hub.unsubscribe(session.conn, frame.channel)
    session.reply(UnsubscribedFrame(ref=frame.ref, channel=frame.channel))


@handles(SendFrame)
async def send(session: WsSession, frame: SendFrame) -> None:
    # Admission first: an overloaded worker answers at once (`unavailable` + retry_after)
    # rather than acking 20 s later; nothing is stored, the client retries the same id.
    if (admission := session.services.admission) is not None:
        admission.check("ws")
    # Through the bot service: a bot conversation's send also starts the bot's answer.
    posted = await session.services.bot.post_message(
        session.conn.user,
        session.room_of(frame.channel),
        frame.client_id,
        frame.body,
        max_chars=session.settings.message_max_chars,
    )
    session.reply(
        AckFrame(
            ref=frame.ref,
            channel=frame.channel,
            seq=posted.event.seq,
            client_id=posted.event.client_id,
        )
    )


@handles(TypingFrame)
async def typing(session: WsSession, frame: TypingFrame) -> None:
    if not session.hub.is_subscribed(session.conn, frame.channel):
        raise Forbidden(f"Subscribe to {frame.channel} before sending typing indicators.")
    now = time.monotonic()
    last = session.typing_sent.get(frame.channel)
    if last is not None and now - last < session.settings.typing_throttle_seconds:
        return  # throttled: typing is a hint, at most one per window is worth sending
    session.typing_sent[frame.channel] = now
    await session.hub.publish_ephemeral(TypingEvent(channel=frame.channel, user=session.conn.user))


@handles(ReadFrame)
async def read(session: WsSession, frame: ReadFrame) -> None:
    room_id = session.room_of(frame.channel)
    async with session.services.sessions() as db:
        seq = await chat.mark_read(db, room_id, session.conn.user.id, frame.seq)
    session.reply(MarkedFrame(ref=frame.ref, channel=frame.channel, seq=seq))


@handles(RefreshFrame)
async def refresh(session: WsSession, frame: RefreshFrame) -> None:
    """Swap the connection's token in band; the core then closes at the new expiry."""
    services = session.services
    async with services.sessions() as db:
        user, claims = await accounts.resolve(db, services.broker, services.tokens, frame.token)
    if user.id != session.conn.user.id:
        raise Forbidden("A refreshed token must belong to the same user.")
    session.core.refreshed(monotonic_expiry(claims))
    # Live authorization follows the token now in use; one revoked meanwhile closes.
    session.conn.jti = claims.jti
    session.hub.revocations.admit(session.conn)
    session.reply(RefreshedFrame(ref=frame.ref))
