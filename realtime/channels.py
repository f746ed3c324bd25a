"""Channel kinds: the unit of extension for everything live.

A channel is named `kind:id`. Its kind declares who may subscribe, how its events are
delivered, what happens when a subscriber is too slow, and whether it has presence. The
hub (realtime/hub.py) does the rest for every kind alike. Adding a kind is one module in
realtime/kinds/ plus a `register()` call (docs/architecture.md walks through it).

Delivery modes:
- ordered: durable events with a gap-free `seq`; a subscriber may resume with `since`, and
  the hub replays from Redis history, then from storage (`heads` and `load`).
- ephemeral: live only; nothing is replayed.
- latest: each event is a complete state with a growing `version`; a new subscriber gets
  the current state at once (`on_subscribe`), a stale version is never delivered.
- indexed: bounded sequences (an LLM answer) of `stream` id + `index`, replayable from a
  Redis stream while in flight (`on_subscribe`, and `replay` after an overflow).

A kind may mix: a room is ordered (messages) and also carries ephemeral events (typing,
presence) and indexed bot streams; each event's envelope header says which it is.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker import Broker
from domain.errors import Invalid, NotFound

# Ids are PostgreSQL INTEGER keys: a larger number cannot name anything.
MAX_CHANNEL_ID = 2**31 - 1
_CHANNEL = re.compile(r"([a-z_]{1,32}):([1-9][0-9]{0,9})")


class Delivery(StrEnum):
    ordered = "ordered"
    ephemeral = "ephemeral"
    latest = "latest"
    indexed = "indexed"


class Overflow(StrEnum):
    """What a subscription does when its connection's outbox is full."""

    close = "close"  # close the connection (4008); the client resumes with `since`
    keep_latest = "keep_latest"  # hold only the newest snapshot; never close
    replay = "replay"  # drop live frames; replay them from the source once there is room


@dataclass(frozen=True, slots=True)
class StreamPosition:
    """How far a client got in an indexed stream (the `stream` field of `subscribe`)."""

    id: str
    index: int


@dataclass(frozen=True, slots=True)
class SubscribeRequest:
    """What a hook knows of one subscriber."""

    user_id: int
    key: int
    since: int | None = None
    stream: StreamPosition | None = None
    role: str | None = None  # what the kind's `authorize` answered (a room: the member role)


@dataclass(frozen=True, slots=True)
class KindContext:
    """What hooks may use: storage and the broker (sorted sets, streams, keys)."""

    sessions: async_sessionmaker[AsyncSession]
    broker: Broker


# Raises Forbidden / NotFound; may answer the subscriber's role, which hooks then see in
# SubscribeRequest.role without asking storage again.
Authorize = Callable[[AsyncSession, int, int], Awaitable[str | None]]
# `authorize` for many (user id, key) pairs in one go: each pair's answer or its error.
AuthorizeMany = Callable[
    [AsyncSession, Sequence[tuple[int, int]]],
    Awaitable[Mapping[tuple[int, int], str | Exception | None]],
]
Heads = Callable[[AsyncSession, list[int]], Awaitable[dict[int, int]]]
Load = Callable[[AsyncSession, int, int, int], Awaitable[list[tuple[int, str]]]]
# Envelopes (domain.events.encode) a new subscriber gets after `subscribed` and the replay:
# a current snapshot, an in-flight stream from where the client left it. Also used to
# replay after an overflow. The hub filters them like live events (stale versions and
# stream indexes already sent are dropped).
Catchup = Callable[[KindContext, SubscribeRequest], Awaitable[list[bytes]]]


@dataclass(frozen=True, slots=True)
class ChannelKind:
    name: str
    authorize: Authorize
    delivery: Delivery
    # Optional: lets concurrent subscribes share one query (realtime/authorizer.py).
    authorize_many: AuthorizeMany | None = None
    overflow: Overflow = Overflow.close
    presence: bool = False
    heads: Heads | None = None  # ordered: current head seq of several ids, one query
    load: Load | None = None  # ordered: frames with after < seq <= upto, as (seq, frame)
    on_subscribe: Catchup | None = None
    replay: Catchup | None = None  # overflow=replay: frames after the subscriber's position
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.delivery is Delivery.ordered and (self.heads is None or self.load is None):
            raise ValueError(f"ordered kind {self.name!r} needs heads and load")
        if self.overflow is Overflow.replay and self.replay is None:
            raise ValueError(f"kind {self.name!r} with overflow=replay needs a replay hook")


KINDS: dict[str, ChannelKind] = {}


def register(kind: ChannelKind) -> ChannelKind:
    """Make a kind subscribable. Registering a name twice is a programming error."""
    if kind.name in KINDS and KINDS[kind.name] is not kind:
        raise ValueError(f"channel kind {kind.name!r} is registered already")
    KINDS[kind.name] = kind
    return kind


def parse_channel(channel: str) -> tuple[str, int]:
    """Split `kind:id`. Raises Invalid for a malformed name or an id out of range."""
    match = _CHANNEL.fullmatch(channel) if isinstance(channel, str) else None
    if match is None:
        shown = repr(channel[:80]) if isinstance(channel, str) else "That"
        raise Invalid(f"{shown} is not a channel name (expected kind:id, e.g. room:42).")
    key = int(match.group(2))
    if key > MAX_CHANNEL_ID:
        raise Invalid(f"Channel ids go up to {MAX_CHANNEL_ID}.")
    return match.group(1), key


def kind_of(channel: str) -> tuple[ChannelKind, int]:
    """The registered kind and id of a channel name. Raises Invalid or NotFound."""
    name, key = parse_channel(channel)
    kind = KINDS.get(name)
    if kind is None:
        raise NotFound(f"There is no channel kind {name!r}.")
    return kind, key
