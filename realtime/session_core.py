"""The per-connection rules of the WebSocket protocol, as a pure state machine (Sans-I/O).

`SessionCore` owns every rule about *when* and *whether* a frame is acted on: auth first
within a deadline, the idle heartbeat (a `ping` after `heartbeat` seconds of silence, close
1000 after three times that), token expiry (`unauthorized` then 4001) and its in-band
refresh, the size limit (`too_large`), binary frames (`bad_frame`), parsing (every parse
failure with its documented code), and the rate limit (a token bucket; `rate_limited` per
refused frame, 4029 after `max_violations` refusals in a row).

It does no I/O, reads no clock and starts no task: the shell (realtime/ws.py) feeds it
events with the time they happened — a text or binary frame, a tick when the last `Step`'s
deadline passed, the outcome of the token check — and carries out the `Step` each returns:
send these frames, hand this frame to its handler, close with this code, call `tick` again
at `deadline` if nothing arrives before. Every time is in one monotonic clock of the
shell's choosing (seconds); the token's expiry is given in that clock too.

Guarantees: each method returns promptly and never raises for any input; once a `Step`
carries `close`, the core is closed and every later call returns an empty `Step`; an input
that does not fit the phase (a frame while the token is being checked) is ignored;
a `Step` carries at most one of `dispatch` / `authenticate`, and neither with `close`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from domain.errors import ErrorCode
from realtime.client_frames import AuthFrame, ClientFrame
from realtime.connection import CloseCode
from realtime.frame_parser import FrameError, parse_client_frame, ref_of
from realtime.server_frames import ErrorFrame, ServerPingFrame

# A refused frame is answered; this many refusals in a row (no accepted frame between) and
# the next one closes 4029 instead: a client that keeps flooding is not worth answering.
MAX_VIOLATIONS = 50
# How many heartbeats of silence close the connection once a `ping` went unanswered.
IDLE_CLOSE_HEARTBEATS = 3

EXPIRED = "The token expired; reconnect."


@dataclass(frozen=True, slots=True)
class Limits:
    """The per-connection limits (docs/protocol.md), in seconds, bytes and frames/second."""

    heartbeat: float = 25.0
    auth_timeout: float = 10.0
    max_frame_bytes: int = 64 * 1024
    rate_per_second: float = 20.0
    rate_burst: int = 60
    max_violations: int = MAX_VIOLATIONS


class Phase(Enum):
    awaiting_auth = "awaiting_auth"
    authenticating = "authenticating"
    open = "open"
    closed = "closed"


ServerReply = ErrorFrame | ServerPingFrame


@dataclass(frozen=True, slots=True)
class Step:
    """What the shell must do now, in this order: send `send`; check `authenticate`'s token
    (then report with `authenticated` / close) or handle `dispatch`; close with `close`.

    `deadline` is when to call `tick` if no frame arrives first; None once closed, or while
    the shell checks a token (the auth deadline covers waiting for the frame, not the check).
    """

    send: tuple[ServerReply, ...] = ()
    dispatch: ClientFrame | None = None
    authenticate: AuthFrame | None = None
    close: CloseCode | None = None
    deadline: float | None = None


class TokenBucket:
    """`rate` tokens per second, at most `burst` banked; starts full. Pure: times are given."""

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate, self.burst = rate, burst
        self._tokens = float(burst)
        self._last = now

    def take(self, now: float) -> bool:
        # A clock that seems to go back (it should not) refills nothing rather than drains.
        self._tokens = min(self.burst, self._tokens + max(0.0, now - self._last) * self.rate)
        self._last = max(self._last, now)
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class SessionCore:
    """One connection's protocol state. Create it when the socket is accepted."""

    __slots__ = (
        "auth_deadline",
        "bucket",
        "expires_at",
        "last_heard",
        "limits",
        "phase",
        "pinged",
        "violations",
    )

    def __init__(self, limits: Limits, now: float) -> None:
        self.limits = limits
        self.phase = Phase.awaiting_auth
        self.auth_deadline = now + limits.auth_timeout
        self.expires_at = float("inf")
        self.last_heard = now
        self.pinged = False
        self.violations = 0
        self.bucket = TokenBucket(limits.rate_per_second, limits.rate_burst, now)

    # --- inputs ------------------------------------------------------------------------

    def start(self) -> Step:
        """The first step: wait for the `auth` frame until the auth deadline."""
        return Step(deadline=self.auth_deadline)

    def receive_text(self, text: str, now: float) -> Step:
        """A text frame arrived at `now`."""
        if self.phase is Phase.awaiting_auth:
            return self._first_frame(text)
        if self.phase is not Phase.open:
            return Step()
        self._heard(now)
        if now >= self.expires_at:
            return self._close(CloseCode.unauthorized, _error(ErrorCode.unauthorized, EXPIRED))
        if _too_large(text, self.limits.max_frame_bytes):
            return self._refuse(ErrorCode.too_large, self._too_large_message())
        if not self.bucket.take(now):
            return self._violation(text)
        self.violations = 0
        try:
            frame = parse_client_frame(text)
        except FrameError as exc:
            return self._refuse(exc.code, exc.message, exc.ref, exc.details)
        if isinstance(frame, AuthFrame):
            return self._refuse(ErrorCode.invalid, "Already authenticated.", frame.ref)
        return Step(dispatch=frame, deadline=self.deadline())

    def receive_binary(self, now: float) -> Step:
        """A binary frame arrived at `now`: the protocol is JSON text only."""
        if self.phase is Phase.awaiting_auth:
            return self._refuse_auth(
                "The first frame must be a JSON text frame {'type': 'auth'}.", None
            )
        if self.phase is not Phase.open:
            return Step()
        self._heard(now)
        if now >= self.expires_at:
            return self._close(CloseCode.unauthorized, _error(ErrorCode.unauthorized, EXPIRED))
        return self._refuse(ErrorCode.bad_frame, "Frames must be JSON text, not binary.")

    def tick(self, now: float) -> Step:
        """Nothing arrived before the last step's deadline (or the shell woke up anyway)."""
        if self.phase is Phase.awaiting_auth:
            if now >= self.auth_deadline:
                return self._refuse_auth("No auth frame within the deadline.", None)
            return Step(deadline=self.auth_deadline)
        if self.phase is not Phase.open:
            return Step()
        if now >= self.expires_at:
            return self._close(CloseCode.unauthorized, _error(ErrorCode.unauthorized, EXPIRED))
        heartbeat = self.limits.heartbeat
        if self.pinged and now >= self.last_heard + IDLE_CLOSE_HEARTBEATS * heartbeat:
            return self._close(CloseCode.normal)
        if not self.pinged and now >= self.last_heard + heartbeat:
            self.pinged = True
            return Step(send=(ServerPingFrame(),), deadline=self.deadline())
        return Step(deadline=self.deadline())

    def authenticated(self, expires_at: float, now: float) -> Step:
        """The token of the `auth` frame named an active user; it expires at `expires_at`."""
        if self.phase is not Phase.authenticating:
            return Step()
        self.phase = Phase.open
        self.expires_at = expires_at
        self._heard(now)
        return Step(deadline=self.deadline())

    def refreshed(self, expires_at: float) -> Step:
        """An in-band `refresh` was accepted: the connection now lives until `expires_at`."""
        if self.phase is not Phase.open:
            return Step()
        self.expires_at = expires_at
        return Step(deadline=self.deadline())

    def closed(self) -> None:
        """The shell closed the connection for its own reasons (client gone, server stop)."""
        self.phase = Phase.closed

    # --- state -------------------------------------------------------------------------

    def deadline(self) -> float | None:
        """When `tick` must be called if no frame arrives first."""
        if self.phase is Phase.awaiting_auth:
            return self.auth_deadline
        if self.phase is not Phase.open:
            return None
        silence = IDLE_CLOSE_HEARTBEATS if self.pinged else 1
        return min(self.last_heard + silence * self.limits.heartbeat, self.expires_at)

    # --- helpers -----------------------------------------------------------------------

    def _heard(self, now: float) -> None:
        # Any frame, even one refused, shows the client is alive and answers a `ping`.
        self.last_heard = max(self.last_heard, now)
        self.pinged = False

    def _first_frame(self, text: str) -> Step:
        if _too_large(text, self.limits.max_frame_bytes):
            return self._refuse_auth("The frame is too large.", None)
        try:
            frame = parse_client_frame(text)
        except FrameError as exc:
            return self._refuse_auth(
                f"The first frame must be a valid {{'type': 'auth'}} frame: {exc.message}", None
            )
        if not isinstance(frame, AuthFrame):
            return self._refuse_auth("The first frame must be {'type': 'auth'}.", frame.ref)
        self.phase = Phase.authenticating
        return Step(authenticate=frame)

    def _refuse_auth(self, message: str, ref: str | None) -> Step:
        # Whatever was wrong with the first frame, the answer is that it did not authenticate.
        return self._close(CloseCode.unauthorized, _error(ErrorCode.unauthorized, message, ref))

    def _violation(self, text: str) -> Step:
        self.violations += 1
        if self.violations > self.limits.max_violations:
            return self._close(CloseCode.rate_limited)
        # Every refused frame is answered with its ref, so a client knows which to retry.
        return self._refuse(ErrorCode.rate_limited, "Too many frames; slow down.", ref_of(text))

    def _refuse(
        self, code: ErrorCode, message: str, ref: str | None = None, details: object = None
    ) -> Step:
        return Step(send=(_error(code, message, ref, details),), deadline=self.deadline())

    def _close(self, code: CloseCode, *send: ServerReply) -> Step:
        self.phase = Phase.closed
        return Step(send=send, close=code)

    def _too_large_message(self) -> str:
        return f"Frames are limited to {self.limits.max_frame_bytes} bytes."


def _error(
    code: ErrorCode, message: str, ref: str | None = None, details: object = None
) -> ErrorFrame:
    return ErrorFrame(ref=ref, code=code, message=message, details=details)


def _too_large(text: str, limit: int) -> bool:
    """Limit in UTF-8 bytes; encoding only when the character count cannot decide."""
    return len(text) > limit or (len(text) * 4 > limit and len(text.encode()) > limit)
