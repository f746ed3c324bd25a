"""Server-Sent Events: `GET /api/v1/rooms/{id}/events`, the listen-only view of `room:{id}`.

Each frame the hub queues for the connection becomes one SSE event: `event: <type>`,
`id:` for every positioned event (seq, snapshot version, or seq/stream:index), `data: <the
WebSocket frame's JSON>`. `Last-Event-ID` (or `?since=`) resumes exactly like `subscribe`
with `since` (and `stream`). `stream_channel` serves any channel kind, so features expose
their own channels over SSE by calling it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, NamedTuple

import anyio
from fastapi import APIRouter, Depends, Header, Query
from sse_starlette import EventSourceResponse, ServerSentEvent

from domain import accounts, logcontext, metrics
from domain.errors import DomainError, ErrorCode, Invalid, Unauthorized
from domain.events import UserRef
from domain.failures import classify
from domain.tasks import spawn
from edge.errors import error_responses
from edge.params import IdPath
from edge.services import Services, ServicesDep
from models import User
from realtime.channels import Delivery, StreamPosition
from realtime.connection import CloseCode, Connection, Outgoing
from realtime.deps import HubDep
from realtime.hub import Hub
from realtime.server_frames import ErrorFrame, dump

log = logging.getLogger("parley.sse")
router = APIRouter(tags=["streams"])
_RETRY_MS = 2000


class SseAuth(NamedTuple):
    user: User
    expires_at: float  # when the stream must end (its token's expiry)
    jti: str | None  # the bearer token's id (its revocation ends the stream); None: ticket


async def sse_auth(services: Services, authorization: str | None, ticket: str | None) -> SseAuth:
    """The listener, when its stream must end and which token opened it.

    Bearer header, or a single-use ticket for EventSource (which cannot set headers); a
    ticket stands in for an access token and gets an access token's lifetime. A ticket
    is not tied to a token: logout does not end a stream opened with one (its lifetime
    and the room's membership still do).
    """
    async with services.sessions() as session:
        if authorization and authorization.lower().startswith("bearer "):
            user, claims = await accounts.resolve(
                session, services.broker, services.tokens, authorization[7:].strip()
            )
            return SseAuth(user, claims.expires_at.timestamp(), claims.jti)
        if ticket:
            user = await accounts.redeem_ticket(session, services.broker, ticket)
            return SseAuth(user, time.time() + services.settings.access_token_minutes * 60, None)
    raise Unauthorized("Send 'Authorization: Bearer <token>' or '?ticket=' from /auth/ticket.")


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a listener resumes: after a durable seq and/or inside an indexed stream."""

    since: int | None = None
    stream: StreamPosition | None = None


_SEQ_MAX = 2**63 - 1
_STREAM_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_INDEX = re.compile(r"-1|[0-9]{1,9}")


def resume_point(last_event_id: str | None, since: int | None) -> Resume:
    """Parse `Last-Event-ID` (preferred) or `?since=`.

    The ids this stream writes are `<seq>` for durable events, `<version>` for snapshots
    (a snapshot kind sends the current state on subscribe anyway) and
    `<seq>/<stream>:<index>` for an indexed stream's events on an ordered channel (so both
    positions survive one reconnect). Raises Invalid for anything else.
    """
    if last_event_id is None or not last_event_id.strip():
        return Resume(since=since)
    text = last_event_id.strip()
    seq_part, slash, stream_part = text.partition("/")
    resume_since: int | None = None
    if seq_part:
        if not seq_part.isdigit() or int(seq_part) > _SEQ_MAX:
            raise Invalid("Last-Event-ID must be an id this stream sent.")
        resume_since = int(seq_part)
    stream = None
    if slash:
        stream_id, _, index = stream_part.rpartition(":")
        # Index -1 is a stream's `stream_start`; deltas count from 0.
        if not _STREAM_ID.fullmatch(stream_id) or not _INDEX.fullmatch(index):
            raise Invalid("Last-Event-ID must be an id this stream sent.")
        stream = StreamPosition(stream_id, int(index))
    return Resume(since=resume_since, stream=stream)


class _EventIds:
    """Writes SSE ids so that `Last-Event-ID` resumes every position this listener holds."""

    __slots__ = ("last_seq", "ordered")

    def __init__(self, ordered: bool, since: int | None) -> None:
        self.ordered = ordered
        self.last_seq = since

    def of(self, frame: Outgoing, type_: str | None) -> str | None:
        if frame.event_id is None:
            if type_ == "subscribed" and self.ordered and self.last_seq is None:
                self.last_seq = json.loads(frame.text).get("head")
            return None
        if ":" in frame.event_id:  # an indexed stream's position
            return f"{self.last_seq}/{frame.event_id}" if self.last_seq is not None else None
        if self.ordered:
            self.last_seq = int(frame.event_id)
        return frame.event_id


async def stream_channel(
    services: Services,
    hub: Hub,
    user: User,
    channel: str,
    resume: Resume,
    expires_at: float,
    *,
    jti: str | None = None,
) -> EventSourceResponse:
    """Stream a channel to a new listen-only connection.

    Authorization errors raise before the response starts (a proper 401/403/404). The
    subscription itself runs beside the stream, so a long replay is drained as it is
    produced; a failure after the stream started arrives as an `error` event. The stream
    ends when the token expires (`error` unauthorized) or the listener is too slow; and,
    live authorization, when the listener loses access to the channel (`error` forbidden)
    or its token `jti` is revoked (`error` unauthorized).
    """
    # Authorized once, here, so a refusal is an HTTP status; the subscribe reuses it (a
    # doctor's read is audited once per stream, not twice).
    authorized = await hub.authorize_subscribe(user.id, channel)
    ids = _EventIds(authorized.kind.delivery is Delivery.ordered, resume.since)
    conn = Connection(
        UserRef(id=user.id, name=user.display_name),
        services.settings.ws_outbound_queue,
        jti=jti,
        listen_only=True,
    )

    async def subscribe() -> None:
        # Any failure ends the stream with an `error` event; none may leave it hanging.
        try:
            await hub.subscribe(
                conn, channel, resume.since, ref=None, stream=resume.stream, authorized=authorized
            )
        except Exception as exc:  # answered here; a bug is also logged
            error = classify(exc)
            if error is None:
                log.error("stream subscribe failed", exc_info=exc, extra={"channel": channel})
                error = DomainError("Something went wrong on our side.")
            elif not isinstance(exc, DomainError):
                log.warning("stream subscribe refused", extra={"error": type(exc).__name__})
            conn.offer(dump(ErrorFrame(code=error.code, message=error.message)))
            conn.close(CloseCode.normal)

    async def events() -> AsyncIterator[ServerSentEvent]:
        logcontext.connection_id.set(conn.id)  # on every log line of this stream
        hub.register(conn)
        subscribing = spawn(subscribe(), name="sse-subscribe")
        try:
            yield ServerSentEvent(comment="stream open", retry=_RETRY_MS)
            while True:
                try:
                    async with asyncio.timeout(max(0.0, expires_at - time.time())):
                        frame = await conn.next()
                except TimeoutError:
                    expired = ErrorFrame(
                        code=ErrorCode.unauthorized, message="The token expired; reconnect."
                    )
                    yield ServerSentEvent(data=dump(expired), event="error")
                    break
                if frame is None:
                    break
                type_ = frame.type or _type_of(frame.text)
                metrics.delivered(type_, frame.published)
                yield ServerSentEvent(data=frame.text, event=type_, id=ids.of(frame, type_))
        finally:
            # The client went away and this generator is being cancelled: shield the
            # clean-up, or its first await is cancelled too and presence, the connection and
            # the channel subscription leak.
            with anyio.move_on_after(5, shield=True):
                subscribing.cancel()
                with contextlib.suppress(BaseException):
                    await subscribing
                await hub.disconnect(conn)

    return EventSourceResponse(
        events(),
        ping=services.settings.sse_keepalive_seconds,
        headers={"X-Accel-Buffering": "no", "Cache-Control": "no-cache"},
    )


# The parameters every SSE endpoint takes; declared once, so the endpoints (and the OpenAPI
# they publish) cannot drift apart.
Authorization = Annotated[str | None, Header()]
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID")]
Since = Annotated[int | None, Query(ge=0, le=_SEQ_MAX)]
Ticket = Annotated[str | None, Query(max_length=128)]


@dataclass(frozen=True, slots=True)
class Listener:
    """Who is listening (authenticated) and where they resume (validated)."""

    auth: SseAuth
    resume: Resume

    async def open(self, services: Services, hub: Hub, channel: str) -> EventSourceResponse:
        return await stream_channel(
            services,
            hub,
            self.auth.user,
            channel,
            self.resume,
            self.auth.expires_at,
            jti=self.auth.jti,
        )


async def ordered_listener(
    services: ServicesDep,
    authorization: Authorization = None,
    last_event_id: LastEventId = None,
    since: Since = None,
    ticket: Ticket = None,
) -> Listener:
    """For a channel with a seq line: resumes after `Last-Event-ID` or `?since=`.

    Authenticates first (401 before 422), as every endpoint of the API does.
    """
    auth = await sse_auth(services, authorization, ticket)
    return Listener(auth, resume_point(last_event_id, since))


async def snapshot_listener(
    services: ServicesDep,
    authorization: Authorization = None,
    last_event_id: LastEventId = None,
    ticket: Ticket = None,
) -> Listener:
    """For a snapshot channel: `Last-Event-ID` is validated but not used, since subscribing
    sends the current state anyway; the stream restarts from now."""
    auth = await sse_auth(services, authorization, ticket)
    resume_point(last_event_id, None)
    return Listener(auth, Resume())


OrderedListener = Annotated[Listener, Depends(ordered_listener)]
SnapshotListener = Annotated[Listener, Depends(snapshot_listener)]


def _type_of(frame: str) -> str | None:
    """The type of a frame the hub made itself (`subscribed`, `presence`, `error`); event
    frames carry theirs from the envelope and are never parsed here."""
    kind = json.loads(frame).get("type")
    return kind if isinstance(kind, str) else None


@router.get(
    "/rooms/{room_id:int}/events",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The room's event stream."},
        **error_responses(401, 403, 404, 422, 503),
    },
)
async def room_events(
    room_id: IdPath, services: ServicesDep, hub: HubDep, listener: OrderedListener
) -> EventSourceResponse:
    return await listener.open(services, hub, f"room:{room_id}")


@router.get(
    "/notifications/events",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "Your notifications."},
        **error_responses(401, 422, 503),
    },
)
async def notification_events(
    services: ServicesDep, hub: HubDep, listener: OrderedListener
) -> EventSourceResponse:
    """The caller's `user:{id}` channel: `notification` events (id: their seq, resumable
    with Last-Event-ID or `since`) and `unread` counts."""
    return await listener.open(services, hub, f"user:{listener.auth.user.id}")
