"""Sends waiting for their ack: the outbox.

Every send carries a client id (generated when the caller gives none), which makes it
idempotent on the server: the same frame sent twice is stored once and acked with the
first `seq`. That is what lets the client resend everything unacked after a reconnect, and
retry `unavailable`/`rate_limited`, without ever storing a message twice. A refusal that
carries a retry-after hint (admission control) is retried no sooner than the hint.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from client.backoff import Backoff
from client.errors import ProtocolError


@dataclass(frozen=True)
class Ack:
    """The server stored the message durably as `seq` on `channel`."""

    channel: str
    seq: int
    client_id: str


@dataclass(eq=False)
class PendingSend:
    ref: str
    channel: str
    client_id: str
    body: str
    future: asyncio.Future[Ack]
    sent_on: int = -1  # the connection generation the frame last went out on
    transmissions: int = 0
    errors: int = 0
    waiting: bool = False  # a retry after a refusal is scheduled
    backoff: Backoff = field(default_factory=lambda: Backoff(base=0.5, cap=10.0))

    def retry_delay(self, hint: float | None) -> float:
        """How long to wait before resending after a retryable refusal: the backoff's
        jittered delay, on top of the server's retry-after `hint` when it gave one (an
        overloaded worker asks for at least that long; the jitter keeps the clients it
        refused from all coming back in the same instant)."""
        return (hint or 0.0) + self.backoff.next()

    def frame(self) -> dict[str, object]:
        return {
            "type": "send",
            "ref": self.ref,
            "channel": self.channel,
            "client_id": self.client_id,
            "body": self.body,
        }


class Outbox:
    """Unacked sends by ref, in the order they were made (resent in that order)."""

    def __init__(self, max_attempts: int) -> None:
        self.max_attempts = max_attempts
        self._pending: dict[str, PendingSend] = {}

    def add(self, ref: str, channel: str, client_id: str, body: str) -> PendingSend:
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        pending = PendingSend(ref, channel, client_id, body, future)
        self._pending[ref] = pending
        return pending

    def pending(self) -> list[PendingSend]:
        return list(self._pending.values())

    def __len__(self) -> int:
        return len(self._pending)

    def discard(self, ref: str) -> None:
        self._pending.pop(ref, None)

    def acked(self, ref: str, channel: str, seq: int, client_id: str | None) -> bool:
        """Resolve the send `ref`; False if no send waits for it (a late duplicate)."""
        pending = self._pending.pop(ref, None)
        if pending is None:
            return False
        if not pending.future.done():
            pending.future.set_result(Ack(channel, seq, client_id or pending.client_id))
        return True

    def refused(self, ref: str, error: ProtocolError) -> PendingSend | None:
        """Apply an `error` answer. Returns the send when it should be retried (after
        `send.backoff.next()`); otherwise the caller's future gets the error."""
        pending = self._pending.get(ref)
        if pending is None:
            return None
        pending.errors += 1
        if error.retryable and pending.errors < self.max_attempts:
            return pending
        del self._pending[ref]
        if not pending.future.done():
            pending.future.set_exception(error)
        return None

    def fail_all(self, error: BaseException) -> None:
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(error)
        self._pending.clear()
