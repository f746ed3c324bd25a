"""Server-Sent Events: `GET /api/v1/rooms/{id}/events`, the listen-only view of `room:{id}`.

Each frame the hub queues for the connection becomes one SSE event: `event: <type>`,
`id: <seq>` for durable events, `data: <the WebSocket frame's JSON>`. `Last-Event-ID` (or
`?since=`) resumes exactly like `subscribe` with `since`. `stream_channel` is generic, so
later features expose their own channels over SSE by calling it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query
from sse_starlette import EventSourceResponse, ServerSentEvent

from domain import accounts
from domain.errors import DomainError, ErrorCode, Invalid, Unauthorized
from domain.events import UserRef
from domain.failures import classify
from edge.errors import error_responses
from edge.params import IdPath
from edge.services import Services, ServicesDep
from models import User
from realtime.connection import CloseCode, Connection
from realtime.deps import HubDep
from realtime.frames import ErrorFrame, dump
from realtime.hub import Hub
from realtime.supervise import spawn

log = logging.getLogger("parley.sse")
router = APIRouter(tags=["streams"])
_RETRY_MS = 2000


async def sse_user(
    services: Services, authorization: str | None, ticket: str | None
) -> tuple[User, float]:
    """The listener and when its stream must end (its token's expiry).

    Bearer header, or a single-use ticket for EventSource (which cannot set headers); a
    ticket stands in for an access token and gets an access token's lifetime.
    """
    async with services.sessions() as session:
        if authorization and authorization.lower().startswith("bearer "):
            user, claims = await accounts.resolve(
                session, services.broker, services.tokens, authorization[7:].strip()
            )
            return user, claims.expires_at.timestamp()
        if ticket:
            user = await accounts.redeem_ticket(session, services.broker, ticket)
            return user, time.time() + services.settings.access_token_minutes * 60
    raise Unauthorized("Send 'Authorization: Bearer <token>' or '?ticket=' from /auth/ticket.")


def resume_point(last_event_id: str | None, since: int | None) -> int | None:
    if last_event_id is not None and last_event_id.strip():
        try:
            value = int(last_event_id)
        except ValueError as exc:
            raise Invalid("Last-Event-ID must be a seq number.") from exc
        if value < 0:
            raise Invalid("Last-Event-ID must not be negative.")
        return value
    return since


async def stream_channel(
    services: Services,
    hub: Hub,
    user: User,
    channel: str,
    since: int | None,
    expires_at: float,
) -> EventSourceResponse:
    """Stream a channel to a new listen-only connection.

    Authorization errors raise before the response starts (a proper 401/403/404). The
    subscription itself runs beside the stream, so a long replay is drained as it is
    produced; a failure after the stream started arrives as an `error` event. The stream
    ends when the token expires (`error` unauthorized) or the listener is too slow.
    """
    await hub.authorize(user.id, channel)
    conn = Connection(
        UserRef(id=user.id, name=user.display_name), services.settings.ws_outbound_queue
    )

    async def subscribe() -> None:
        # Any failure ends the stream with an `error` event; none may leave it hanging.
        try:
            await hub.subscribe(conn, channel, since, ref=None)
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
                yield ServerSentEvent(
                    data=frame.text, event=_type_of(frame.text), id=frame.event_id
                )
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
    room_id: IdPath,
    services: ServicesDep,
    hub: HubDep,
    authorization: Annotated[str | None, Header()] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    since: Annotated[int | None, Query(ge=0)] = None,
    ticket: Annotated[str | None, Query(max_length=128)] = None,
) -> EventSourceResponse:
    user, expires_at = await sse_user(services, authorization, ticket)
    return await stream_channel(
        services, hub, user, f"room:{room_id}", resume_point(last_event_id, since), expires_at
    )
