"""Live authorization: telling every worker that someone lost access, after the fact.

Membership and tokens are checked when a subscription or a socket is opened. When that
access ends while it is open — a member leaves or is removed, a room is deleted, a token
is revoked at logout — the use case that changed it announces so on ONE control channel
(`CONTROL_CHANNEL`) that every worker's hub subscribes to at start (one pub/sub
subscription per worker, whatever the number of users). Each worker then ends the
affected subscriptions and connections it holds (realtime/revocation.py).

Guarantees and failure modes:
- Announced only AFTER the change is committed: a worker that re-checks storage on
  receipt sees the new state, and nothing is revoked for a change that rolled back.
- Publishing is best effort, like every pub/sub delivery: a failure is logged, never
  raised (the change itself is durable). A revocation lost with a Redis outage leaves
  already-open subscriptions running until they end by themselves (disconnect, token
  expiry); new subscriptions and new sockets are refused from storage as always.
- The events are typed Pydantic models in the usual envelope (domain/events.py), so a
  foreign or malformed payload on the control channel is dropped, never trusted.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from broker import Broker
from domain.events import decode, encode

log = logging.getLogger("parley.revocations")

# Not a `kind:id` name, so no client can ever subscribe to it through /ws or SSE.
CONTROL_CHANNEL = "control:access"


class RevokeReason(StrEnum):
    """Why a user lost a channel; sent to the client as `unsubscribed.reason`."""

    left = "left"
    removed = "removed"
    deleted = "deleted"
    revoked = "revoked"  # a consultation share ended (domain/care/shares.py)


class ChannelRevoked(BaseModel):
    """`user_id` may no longer read `channel`; None: nobody may (the room was deleted)."""

    model_config = ConfigDict(frozen=True)

    type: Literal["channel_revoked"] = "channel_revoked"
    channel: str
    user_id: int | None
    reason: RevokeReason


class TokenRevoked(BaseModel):
    """The access token `jti` of `user_id` was revoked: its connections must end.
    `expires_at` bounds how long a worker needs to remember it."""

    model_config = ConfigDict(frozen=True)

    type: Literal["token_revoked"] = "token_revoked"
    jti: str
    user_id: int
    expires_at: datetime


ControlEvent = Annotated[ChannelRevoked | TokenRevoked, Field(discriminator="type")]
_control: TypeAdapter[ControlEvent] = TypeAdapter(ControlEvent)


def parse_control(envelope: bytes) -> ChannelRevoked | TokenRevoked:
    """The control event in an envelope. Raises ValueError for anything else."""
    try:
        _, frame = decode(envelope)
        return _control.validate_json(frame)
    except ValidationError as exc:
        raise ValueError("not a control event") from exc


async def announce(broker: Broker, event: ChannelRevoked | TokenRevoked) -> None:
    """Publish a control event to every worker. Call only after the change committed.
    Never raises (see the module docstring for what a lost announcement means)."""
    try:
        await broker.publish(CONTROL_CHANNEL, encode(event, broker.node))
    except Exception as exc:  # noqa: BLE001 - the change is durable; live state is best effort
        log.warning(
            "revocation announcement failed",
            extra={"event": event.type, "error": type(exc).__name__},
        )


async def token_revoked(broker: Broker, jti: str, user_id: int, expires_at: datetime) -> None:
    """Announce that a token was revoked (after `accounts.revoke` committed). Primitives,
    not the claims type, so this module does not depend on where token claims live."""
    await announce(broker, TokenRevoked(jti=jti, user_id=user_id, expires_at=expires_at))
