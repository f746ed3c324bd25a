"""`ParleyClient`: channels, sends and the rest of the protocol over a self-healing `Link`.

Nothing the application holds (subscriptions, pending sends) is tied to one socket: on
every new connection each channel is resubscribed from its held position and every
unacked send is written again with its client id. That is why a dropped connection is
invisible to the application apart from latency.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from client.backoff import Backoff
from client.errors import ConnectionLost, ProtocolError
from client.events import JsonObject, parse_event
from client.link import Link
from client.positions import Verdict
from client.sends import Ack, Outbox, PendingSend
from client.sse import SseStream, http_base
from client.subscriptions import Subscription
from client.tokens import TokenSource

log = logging.getLogger("parley.client")


class ParleyClient(Link):
    """A Parley protocol client. Use as `async with ParleyClient(url, tokens) as client:`.

    Guarantees, for as long as the client is open:
    - every durable event of a subscribed channel reaches its `Subscription` exactly once,
      in `seq` order, across any number of reconnects (a `Reset` event marks the one case
      the server cannot replay; the application then reloads over REST);
    - a `send` resolves to the `Ack` of a message stored exactly once, however often the
      frame had to be resent; it raises `ProtocolError` for a refusal that retrying cannot
      fix, and `ClientClosed` if the client closes first;
    - the token is renewed in band once `refresh_at` of its lifetime has passed, so a
      healthy connection is never closed for expiry.
    Only a fatal error ends the client: credentials refused for good
    (`AuthenticationFailed`) or close 1008; it is raised from every pending and later call.
    """

    def __init__(
        self,
        url: str,
        tokens: TokenSource | str,
        *,
        backoff: Backoff | None = None,
        refresh_at: float = 0.8,
        connect_timeout: float = 30.0,
        request_timeout: float = 15.0,
        rate_limit_pause: float = 5.0,
        max_send_attempts: int = 8,
        buffer: int = 10_000,
    ) -> None:
        super().__init__(
            url,
            tokens,
            backoff=backoff,
            refresh_at=refresh_at,
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
            rate_limit_pause=rate_limit_pause,
        )
        self.buffer = buffer
        self._outbox = Outbox(max_send_attempts)
        self._subs: dict[str, Subscription] = {}
        self._sub_refs: dict[str, str] = {}  # ref of a subscribe frame -> its channel

    # --- Link hooks ---------------------------------------------------------------------------

    async def _on_connected(self) -> None:
        self._sub_refs.clear()
        for sub in list(self._subs.values()):
            if sub.last is not None:
                self.stats.resubscribes += 1
            await self._send_subscribe(sub)
        for pending in self._outbox.pending():
            await self._transmit(pending)

    def _on_shutdown(self, error: BaseException, failure: BaseException | None) -> None:
        self._outbox.fail_all(error)
        for sub in self._subs.values():
            sub.finish(failure)
        self._subs.clear()

    async def _route(self, frame: JsonObject) -> None:
        kind, ref = frame.get("type"), frame.get("ref")
        if kind == "subscribed":
            await self._on_subscribed(frame)
        elif kind == "ack" and isinstance(ref, str):
            seq, channel, cid = frame.get("seq"), frame.get("channel"), frame.get("client_id")
            if isinstance(seq, int) and isinstance(channel, str):
                self._outbox.acked(ref, channel, seq, cid if isinstance(cid, str) else None)
        elif kind == "error":
            self._on_error(frame)
        elif isinstance(frame.get("channel"), str) and ref is None:
            await self._on_event(frame)
        else:
            log.debug("ignored a frame", extra={"frame_type": kind})

    # --- inbound ------------------------------------------------------------------------------

    async def _on_subscribed(self, frame: JsonObject) -> None:
        channel, head, recovered = frame.get("channel"), frame.get("head"), frame.get("recovered")
        ref = frame.get("ref")
        if isinstance(ref, str):
            self._sub_refs.pop(ref, None)
        sub = self._subs.get(channel) if isinstance(channel, str) else None
        if sub is None or not isinstance(head, int):
            return
        reset = sub.on_subscribed(head, recovered is not False)
        if reset is not None:
            log.warning("channel not recoverable; reset", extra={"channel": sub.channel})
            await sub.put(reset)

    async def _on_event(self, frame: JsonObject) -> None:
        event = parse_event(frame)
        sub = self._subs.get(event.channel)
        if sub is None:
            return  # unsubscribed meanwhile
        verdict = sub.position.observe(event)
        if verdict is Verdict.deliver:
            await sub.put(event)
        elif verdict is Verdict.gap and not sub.resyncing:
            # The server promises no gaps; if one shows anyway, ask for a replay from the
            # held position instead of delivering out of order.
            log.warning("gap detected; resubscribing", extra={"channel": sub.channel})
            sub.resyncing, sub.sent_on = True, -1
            await self._send_subscribe(sub)

    def _on_error(self, frame: JsonObject) -> None:
        ref, code = frame.get("ref"), frame.get("code")
        if not isinstance(ref, str):
            log.warning("error without ref", extra={"code": code})
            return
        error = ProtocolError.from_frame(frame)
        if (channel := self._sub_refs.pop(ref, None)) is not None:
            self._subscribe_refused(channel, error)
        elif (retry := self._outbox.refused(ref, error)) is not None:
            log.info("send refused; retrying", extra={"code": code, "ref": ref})
            retry.waiting, retry.sent_on = True, -1
            self._spawn(self._retry_send(retry, error.retry_after))
        else:
            log.info("error for a request no longer pending", extra={"code": code})

    def _subscribe_refused(self, channel: str, error: ProtocolError) -> None:
        sub = self._subs.get(channel)
        if sub is None:
            return
        if error.retryable:
            log.info("subscribe refused; retrying", extra={"channel": channel})
            sub.sent_on = -1
            self._spawn(self._retry_subscribe(sub))
            return
        del self._subs[channel]
        sub.finish(error)

    async def _retry_subscribe(self, sub: Subscription) -> None:
        await asyncio.sleep(sub.retry.next())
        await self._send_subscribe(sub)

    async def _retry_send(self, pending: PendingSend, hint: float | None) -> None:
        await asyncio.sleep(pending.retry_delay(hint))
        pending.waiting = False
        await self._transmit(pending)

    # --- outbound -----------------------------------------------------------------------------

    async def _send_subscribe(self, sub: Subscription) -> None:
        ws, generation = self._ws, self._generation
        if ws is None or sub.sent_on == generation or sub.finished:
            return
        sub.sent_on = generation
        sub.ref = self._next_ref("s")
        self._sub_refs[sub.ref] = sub.channel
        await self._write(ws, {**sub.subscribe_frame(), "ref": sub.ref})

    async def _transmit(self, pending: PendingSend) -> None:
        """Write a send on the current connection, at most once per connection."""
        ws, generation = self._ws, self._generation
        if ws is None or pending.sent_on == generation or pending.waiting:
            return
        if pending.future.done():
            return
        pending.sent_on = generation
        if pending.transmissions:
            self.stats.resent += 1
            log.info("resending", extra={"ref": pending.ref, "channel": pending.channel})
        pending.transmissions += 1
        await self._write(ws, pending.frame())

    # --- the application's API ----------------------------------------------------------------

    async def subscribe(self, channel: str, since: int | None = None) -> Subscription:
        """Subscribe to `channel`, from `since` (replayed first) or from now.

        Returns once the server confirmed (waiting through reconnects). Raises
        `ProtocolError` (`not_found`, `forbidden`, `invalid`), or `ValueError` when the
        channel is already subscribed on this client.
        """
        self._raise_if_closed()
        if channel in self._subs:
            raise ValueError(f"{channel} is already subscribed")
        sub = Subscription(channel, since, self.buffer, self.unsubscribe)
        self._subs[channel] = sub
        try:
            await self._send_subscribe(sub)
            await asyncio.shield(sub.ready)
        except BaseException:
            if self._subs.get(channel) is sub:
                del self._subs[channel]
            sub.finish()
            raise
        return sub

    async def unsubscribe(self, channel: str) -> None:
        """Stop receiving `channel`; its iterator ends after what is buffered."""
        sub = self._subs.pop(channel, None)
        if sub is None:
            return
        sub.finish()
        if self._ws is not None:
            try:
                await self._request({"type": "unsubscribe", "channel": channel})
            except (ConnectionLost, TimeoutError):
                log.debug("unsubscribe unanswered; a new connection will not resubscribe")

    async def send(self, channel: str, body: str, client_id: str | None = None) -> Ack:
        """Store a message; the `Ack` carries its `seq`.

        Any number of sends may be in flight. Unacked sends are resent with the same
        client id after a reconnect, and `unavailable`/`rate_limited` refusals are retried
        with backoff (up to `max_send_attempts`); the server stores each client id once.
        Raises `ProtocolError` for other refusals (forbidden, too_large, conflict, ...).
        Cancelling the call stops further resends (the message may still be stored).
        """
        self._raise_if_closed()
        pending = self._outbox.add(
            self._next_ref("m"), channel, client_id or uuid.uuid4().hex, body
        )
        try:
            await self._transmit(pending)
            return await pending.future
        finally:
            self._outbox.discard(pending.ref)

    @property
    def in_flight(self) -> int:
        """Sends not acked yet."""
        return len(self._outbox)

    async def ping(self) -> float:
        """Round trip to the server, in seconds."""
        started = time.perf_counter()
        await self._request({"type": "ping"})
        return time.perf_counter() - started

    async def typing(self, channel: str) -> bool:
        """Say "typing" on a subscribed channel. Ephemeral: while disconnected it is
        dropped (returns False) rather than delivered late."""
        ws = self._ws
        return ws is not None and await self._write(ws, {"type": "typing", "channel": channel})

    async def mark_read(self, channel: str, seq: int) -> int:
        """Store the read position (extension `read`); returns the position stored."""
        reply = await self._request({"type": "read", "channel": channel, "seq": seq})
        stored = reply.get("seq")
        return stored if isinstance(stored, int) else seq

    async def cancel(self, channel: str, stream: str) -> None:
        """Cancel a bot answer in flight (v1.1); `stream_end` `cancelled` follows."""
        await self._request({"type": "cancel", "channel": channel, "stream": stream})

    async def answer(self, session: int, question_id: int, option: int) -> None:
        """Answer the open quiz question (v1.1). Not retried: a repeat is `conflict`."""
        await self._request(
            {"type": "answer", "session": session, "question_id": question_id, "option": option}
        )

    def sse(self, path: str, since: int | None = None, *, ticket: bool = False) -> SseStream:
        """An `SseStream` of `path` (e.g. `/api/v1/rooms/42/events`) on this client's
        server, with its token source; `ticket=True` authenticates with SSE tickets."""
        base = http_base(self.url)
        ticket_url = f"{base}/api/v1/auth/ticket" if ticket else None
        return SseStream(f"{base}{path}", self.tokens, since=since, ticket_url=ticket_url)
