"""Channel kinds: how a `kind:id` channel is authorized, where its head is, how to replay it.

Later features register their own kinds (leaderboards, quiz sessions) beside `room`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from domain import chat
from domain.errors import Invalid

_CHANNEL = re.compile(r"([a-z_]{1,32}):([1-9][0-9]{0,17})")
# Every channel kind's id is a PostgreSQL INTEGER column today (rooms.id, ...). A larger id
# can name nothing, and checking it here keeps it away from SQL, where it is an error.
MAX_ID = 2**31 - 1

Authorize = Callable[[AsyncSession, int, int], Awaitable[None]]
Heads = Callable[[AsyncSession, list[int]], Awaitable[dict[int, int]]]
Load = Callable[[AsyncSession, int, int, int], Awaitable[list[tuple[int, str]]]]


@dataclass(frozen=True, slots=True)
class ChannelKind:
    name: str
    authorize: Authorize  # raises Forbidden / NotFound
    heads: Heads  # current head seq of several ids, one query
    load: Load  # durable frames with after < seq <= upto, ascending, as (seq, frame)


def parse_channel(channel: str) -> tuple[str, int]:
    match = _CHANNEL.fullmatch(channel)
    if match is None:
        raise Invalid(f"{channel[:80]!r} is not a channel name (expected kind:id, e.g. room:42).")
    key = int(match.group(2))
    if key > MAX_ID:
        raise Invalid(f"Channel ids are at most {MAX_ID}.")
    return match.group(1), key


ROOM = ChannelKind(
    name="room",
    authorize=chat.authorize_read,
    heads=chat.room_heads,
    load=chat.load_frames,
)

KINDS: dict[str, ChannelKind] = {ROOM.name: ROOM}
