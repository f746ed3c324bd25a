"""Live authorization on this worker: ending what lost its access while it was open.

Domain code announces on one control channel (domain/revocations.py) that a user may no
longer read a channel (`left`, `removed`, `deleted`) or that an access token was revoked
(logout). The hub subscribes to that channel once, at start, and hands every control
message here (`on_message`, synchronous, from the broker's read loop). Then:

- channel revoked: each of this worker's subscriptions of that user (every user's, for a
  deleted room) to the channel is detached at once — no event published after the
  revocation reaches it — and its connection gets `unsubscribed` with the `reason` (no
  `ref`); an SSE stream gets an `error` (`forbidden`) and ends. Presence `leave` follows
  as for any unsubscribe.
- token revoked: every connection authenticated with that token (its `jti`, which moves
  with an in-band `refresh`) gets `error` `unauthorized` and is closed with 4001; an SSE
  stream opened with it ends after the same `error` event.

Races (the guarantee the hub documents): a subscription still being set up is marked and
ended by `Hub.subscribe` itself once set-up is done, so its client sees `subscribed`
before `unsubscribed`. A subscribe whose authorization was read before a revocation that
arrives before the subscription is registered is refused: `mark()` is taken before the
authorization and `check()` right after registration compares it with the revocations
seen since (kept `RETAIN_SECONDS`; older marks are refused with `unavailable`, retry). A
connection whose token was revoked before it registered is closed at registration
(`admit`): revoked token ids are kept until the token expires.

Cost: nothing per message. A channel revocation walks that channel's local subscribers; a
token revocation walks this worker's connections once (logouts are rare; no index to keep
up on every connect).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import TYPE_CHECKING

from domain.errors import ErrorCode, Forbidden, NotFound, Unavailable
from domain.revocations import (
    CONTROL_CHANNEL,
    ChannelRevoked,
    RevokeReason,
    parse_control,
)
from domain.tasks import spawn
from realtime.connection import CloseCode, Connection
from realtime.server_frames import ErrorFrame, UnsubscribedFrame, dump

if TYPE_CHECKING:
    from realtime.hub import Hub

log = logging.getLogger("parley.revocation")

# How long a channel revocation is remembered for subscribes in flight: far longer than
# any subscribe takes (authorization + a Redis confirmation bounded to 10 s).
RETAIN_SECONDS = 300.0
_RETRY_MAX_SECONDS = 10.0

_Key = tuple[str, int | None]  # (channel, user id; None: every user)


class Revocations:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._epoch = 0  # counts channel revocations seen by this worker
        self._floor = 0  # revocations up to this epoch have been forgotten
        self._marks: dict[_Key, int] = {}  # latest epoch per key
        self._recent: deque[tuple[float, int, _Key]] = deque()
        self._tokens: dict[str, float] = {}  # revoked jti -> its expiry (epoch seconds)
        self._prune_tokens_at = 1024
        self._retry: asyncio.Task[None] | None = None

    # --- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Subscribe to the control channel. If Redis is not there yet, keep trying in the
        background: the worker serves meanwhile (revocations sent before are missed)."""
        try:
            await self._hub.broker.subscribe(CONTROL_CHANNEL)
        except ConnectionError as exc:
            log.warning(
                "control channel unavailable; retrying", extra={"error": type(exc).__name__}
            )
            self._retry = spawn(self._subscribe_until_confirmed(), name="hub-control-subscribe")

    async def _subscribe_until_confirmed(self) -> None:
        delay = 0.5
        while True:
            await asyncio.sleep(delay)
            with contextlib.suppress(ConnectionError):
                await self._hub.broker.subscribe(CONTROL_CHANNEL)
                return
            delay = min(_RETRY_MAX_SECONDS, delay * 2)

    def close(self) -> None:
        if self._retry is not None:
            self._retry.cancel()

    # --- from the broker (synchronous: must not await) ----------------------------------
    def on_message(self, data: bytes) -> None:
        try:
            event = parse_control(data)
        except ValueError:
            log.warning("dropped a foreign control message")
            return
        if isinstance(event, ChannelRevoked):
            self.revoke_channel(event.channel, event.user_id, event.reason)
        else:
            self.revoke_token(event.jti, event.user_id, event.expires_at.timestamp())

    def revoke_channel(self, channel: str, user_id: int | None, reason: RevokeReason) -> None:
        now = time.monotonic()
        self._epoch += 1
        key: _Key = (channel, user_id)
        self._marks[key] = self._epoch
        self._recent.append((now, self._epoch, key))
        self._prune(now)
        ch = self._hub.channels.get(channel)
        if ch is None:
            return
        for sub in list(ch.subs.values()):
            conn = sub.conn
            if user_id is not None and conn.user.id != user_id:
                continue
            if sub.backlog is not None:
                # Still being set up: `Hub.subscribe` ends it once done, so the client never
                # sees `unsubscribed` before its `subscribed`.
                sub.revoked = reason
                continue
            self._hub.detach(conn, channel)  # now: no later event reaches it
            self.notify(conn, channel, reason)
            spawn(self._hub.settle(channel, sub), name="hub-revoke-settle")

    def revoke_token(self, jti: str, user_id: int, expires_at: float) -> None:
        self._tokens[jti] = expires_at
        if len(self._tokens) >= self._prune_tokens_at:
            now = time.time()
            self._tokens = {j: exp for j, exp in self._tokens.items() if exp > now}
            self._prune_tokens_at = max(1024, 2 * len(self._tokens))
        for conn in list(self._hub.connections.values()):
            if conn.jti == jti and conn.user.id == user_id:
                self._end(conn)

    # --- for the hub and the transports -------------------------------------------------
    def mark(self) -> int:
        """Taken before a subscribe reads its authorization (see `check`)."""
        return self._epoch

    def check(self, mark: int, conn: Connection, channel: str) -> None:
        """Refuse a subscription registered after a revocation that its authorization
        (read after `mark`) may not have seen. Raises Forbidden, NotFound (room deleted)
        or Unavailable (too old to tell; the client retries)."""
        if mark < self._floor:
            raise Unavailable("Access to this channel changed meanwhile; subscribe again.")
        if self._marks.get((channel, None), 0) > mark:
            raise NotFound(f"{channel} no longer exists.")
        if self._marks.get((channel, conn.user.id), 0) > mark:
            raise Forbidden(f"You no longer have access to {channel}.")

    def admit(self, conn: Connection) -> None:
        """Close a connection whose token was revoked before it registered (or refreshed)."""
        if conn.jti is not None and conn.jti in self._tokens:
            self._end(conn)

    def notify(self, conn: Connection, channel: str, reason: RevokeReason) -> None:
        """Tell the client its subscription ended: `unsubscribed` with the reason, or for
        an SSE stream (one channel, nothing left to listen to) `error` and the end."""
        if conn.listen_only:
            error = ErrorFrame(
                code=ErrorCode.forbidden,
                message=f"You no longer have access to {channel} ({reason.value}).",
                details={"channel": channel, "reason": reason.value},
            )
            conn.offer(dump(error))
            conn.close(CloseCode.normal)
        else:
            conn.offer(dump(UnsubscribedFrame(channel=channel, reason=reason)))

    def _end(self, conn: Connection) -> None:
        error = ErrorFrame(
            code=ErrorCode.unauthorized, message="The token has been revoked; reconnect."
        )
        conn.offer(dump(error))
        conn.close(CloseCode.unauthorized)

    def _prune(self, now: float) -> None:
        while self._recent and now - self._recent[0][0] > RETAIN_SECONDS:
            _, epoch, key = self._recent.popleft()
            self._floor = epoch
            if self._marks.get(key) == epoch:
                del self._marks[key]
