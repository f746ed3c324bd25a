"""What one authenticated WebSocket does with the frames it receives.

The receive loop enforces the per-connection limits (frame size, rate, idle time, token
expiry) and dispatches each frame to the hub or the domain. A refusal is an `error` frame
with the request's `ref` and the connection stays open; only the limits documented as
close codes close it.
"""

from __future__ import annotations

import asyncio
import logging
import time

from fastapi import WebSocket
from pydantic_core import PydanticSerializationError

from app.security import TokenClaims
from app.services import Services
from domain import accounts, chat
from domain.errors import DomainError, ErrorCode, Forbidden, Invalid
from domain.events import TypingEvent
from domain.failures import classify
from realtime.channels import parse_channel
from realtime.connection import CloseCode, Connection
from realtime.frames import (
    AckFrame,
    AnsweredFrame,
    AnswerFrame,
    ClientFrame,
    ErrorFrame,
    FrameError,
    MarkedFrame,
    PingFrame,
    PongFrame,
    ReadFrame,
    RefreshedFrame,
    RefreshFrame,
    SendFrame,
    ServerPingFrame,
    ServerPongFrame,
    SubscribeFrame,
    TypingFrame,
    UnsubscribedFrame,
    UnsubscribeFrame,
    dump,
    parse_client_frame,
    ref_of,
)

log = logging.getLogger("parley.ws")

# This many refused frames in a row (no accepted frame between) close with 4029.
_MAX_VIOLATIONS = 50


class TokenBucket:
    """Allows `rate` frames per second on average with bursts up to `burst`."""

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._tokens = float(burst)
        self._last = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class WsSession:
    def __init__(
        self, websocket: WebSocket, services: Services, conn: Connection, claims: TokenClaims
    ) -> None:
        self.websocket = websocket
        self.services = services
        self.settings = services.settings
        self.hub = services.hub
        self.conn = conn
        self.expires_at = claims.expires_at.timestamp()
        self.bucket = TokenBucket(self.settings.ws_rate_per_second, self.settings.ws_rate_burst)
        self.violations = 0
        self.typing_sent: dict[str, float] = {}

    def reply(
        self,
        frame: AckFrame
        | ErrorFrame
        | MarkedFrame
        | AnsweredFrame
        | RefreshedFrame
        | ServerPongFrame
        | UnsubscribedFrame
        | ServerPingFrame,
    ) -> None:
        self.conn.offer(dump(frame))

    def refuse(
        self, code: ErrorCode, message: str, ref: str | None, details: object = None
    ) -> None:
        try:
            self.reply(ErrorFrame(ref=ref, code=code, message=message, details=details))
        except (ValueError, PydanticSerializationError):
            # Something in it cannot be encoded: an answer without the extras still tells
            # the client what happened; no answer at all would leave it waiting.
            self.reply(ErrorFrame(code=code, message=message))

    async def receive_loop(self) -> None:
        heartbeat = self.settings.ws_heartbeat
        last_heard = time.monotonic()
        pinged = False
        while True:
            now = time.monotonic()
            idle_deadline = last_heard + (3 * heartbeat if pinged else heartbeat)
            expiry_in = self.expires_at - time.time()
            timeout = max(0.01, min(idle_deadline - now, expiry_in))
            try:
                async with asyncio.timeout(timeout):
                    message = await self.websocket.receive()
            except TimeoutError:
                if self.expires_at <= time.time():
                    self.refuse(ErrorCode.unauthorized, "The token expired; reconnect.", None)
                    self.conn.close(CloseCode.unauthorized)
                    return
                if pinged and time.monotonic() >= last_heard + 3 * heartbeat:
                    self.conn.close(CloseCode.normal)
                    return
                if not pinged and time.monotonic() >= last_heard + heartbeat:
                    self.reply(ServerPingFrame())
                    pinged = True
                continue
            if message["type"] == "websocket.disconnect":
                return
            last_heard, pinged = time.monotonic(), False
            if self.expires_at <= time.time():
                self.refuse(ErrorCode.unauthorized, "The token expired; reconnect.", None)
                self.conn.close(CloseCode.unauthorized)
                return
            text = message.get("text")
            if not isinstance(text, str):
                self.refuse(ErrorCode.bad_frame, "Frames must be JSON text, not binary.", None)
                continue
            if _too_large(text, self.settings.ws_max_frame_bytes):
                self.refuse(
                    ErrorCode.too_large,
                    f"Frames are limited to {self.settings.ws_max_frame_bytes} bytes.",
                    None,
                )
                continue
            if not self.bucket.take():
                # Every refused frame is answered (with its ref) so a client knows exactly
                # which ones to retry; a client that keeps flooding is closed.
                self.violations += 1
                if self.violations > _MAX_VIOLATIONS:
                    self.conn.close(CloseCode.rate_limited)
                    return
                self.refuse(ErrorCode.rate_limited, "Too many frames; slow down.", ref_of(text))
                continue
            self.violations = 0
            await self.handle(text)
            if self.conn.close_code is not None:
                return

    async def handle(self, text: str) -> None:
        """Answer one frame. Whatever goes wrong, the frame's `ref` gets an answer."""
        ref: str | None = None
        kind: str | None = None
        try:
            frame = parse_client_frame(text)
            ref, kind = frame.ref, frame.type
            await self.dispatch(frame)
        except FrameError as exc:
            self.refuse(exc.code, exc.message, exc.ref, exc.details)
        except Exception as exc:  # noqa: BLE001 - every failure is answered and logged once
            self.fail(exc, ref, kind)

    def fail(self, exc: Exception, ref: str | None, kind: str | None) -> None:
        """The one place a failure while handling a frame becomes an `error` frame."""
        if isinstance(exc, DomainError):
            self.refuse(exc.code, exc.message, ref, exc.details)
            return
        extra = {"conn": self.conn.id, "frame": kind, "error": type(exc).__name__}
        error = classify(exc)
        if error is None:
            log.error("frame handling failed", exc_info=exc, extra=extra)
            self.refuse(ErrorCode.internal, "Something went wrong on our side.", ref)
            return
        # An outage (or a value only the database refused): the client's answer says it all,
        # and a traceback per frame during an outage would drown the log.
        log.warning("frame refused: %s", error.code.value, extra=extra)
        self.refuse(error.code, error.message, ref)

    async def dispatch(self, frame: ClientFrame) -> None:
        match frame:
            case PingFrame():
                self.reply(ServerPongFrame(ref=frame.ref))
            case PongFrame():
                pass
            case SubscribeFrame():
                await self.hub.subscribe(self.conn, frame.channel, frame.since, frame.ref)
            case UnsubscribeFrame():
                await self.hub.unsubscribe(self.conn, frame.channel)
                self.reply(UnsubscribedFrame(ref=frame.ref, channel=frame.channel))
            case SendFrame():
                await self.send(frame)
            case TypingFrame():
                await self.typing(frame)
            case ReadFrame():
                room_id = self.room_of(frame.channel)
                async with self.services.sessions() as session:
                    seq = await chat.mark_read(session, room_id, self.conn.user.id, frame.seq)
                self.reply(MarkedFrame(ref=frame.ref, channel=frame.channel, seq=seq))
            case RefreshFrame():
                await self.refresh(frame)
            case AnswerFrame():
                await self.answer(frame)
            case _:
                raise FrameError(
                    ErrorCode.invalid, "Already authenticated.", ref=getattr(frame, "ref", None)
                )

    def room_of(self, channel: str) -> int:
        kind, key = parse_channel(channel)
        if kind != "room":
            raise Invalid("Only room channels accept this frame.")
        return key

    async def send(self, frame: SendFrame) -> None:
        posted = await chat.post_message(
            self.services.sessions,
            self.services.broker,
            self.conn.user,
            self.room_of(frame.channel),
            frame.client_id,
            frame.body,
            max_chars=self.settings.message_max_chars,
        )
        self.reply(
            AckFrame(
                ref=frame.ref,
                channel=frame.channel,
                seq=posted.event.seq,
                client_id=posted.event.client_id,
            )
        )

    async def typing(self, frame: TypingFrame) -> None:
        if not self.hub.is_subscribed(self.conn, frame.channel):
            raise Forbidden(f"Subscribe to {frame.channel} before sending typing indicators.")
        now = time.monotonic()
        if now - self.typing_sent.get(frame.channel, 0.0) < self.settings.typing_throttle_seconds:
            return  # throttled: typing is a hint, at most one per window is worth sending
        self.typing_sent[frame.channel] = now
        await self.hub.publish_ephemeral(TypingEvent(channel=frame.channel, user=self.conn.user))

    async def answer(self, frame: AnswerFrame) -> None:
        """A quiz session answer (realtime/study.py stores it and moves the boards)."""
        study = self.services.study
        if study is None:
            raise Invalid("Quiz sessions are not available on this server.")
        await study.answer(self.conn.user.id, frame.session, frame.question_id, frame.option)
        self.reply(
            AnsweredFrame(ref=frame.ref, session=frame.session, question_id=frame.question_id)
        )

    async def refresh(self, frame: RefreshFrame) -> None:
        async with self.services.sessions() as session:
            user, claims = await accounts.resolve(
                session, self.services.broker, self.services.tokens, frame.token
            )
        if user.id != self.conn.user.id:
            raise Forbidden("A refreshed token must belong to the same user.")
        self.expires_at = claims.expires_at.timestamp()
        self.reply(RefreshedFrame(ref=frame.ref))


def _too_large(text: str, limit: int) -> bool:
    """Limit in UTF-8 bytes; encoding only when the character count cannot decide."""
    return len(text) > limit or (len(text) * 4 > limit and len(text.encode()) > limit)
