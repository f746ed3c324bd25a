"""Redis for the bot: key names, the in-flight answer's stream, and resume.

Per conversation, one Redis stream `bot:answer:{room}` holds the envelopes of its latest
answer exactly as they were published: `stream_start`, every `delta`, and `stream_end`
once it ended. Each is appended BEFORE it is published, so a subscriber that registers
(buffering live events) and then reads the stream misses nothing: an event published
after the registration is in the buffer, one published before it is in the stream (and
the hub drops the copy that arrives both ways by its stream index).

Per answer, short-lived keys: `bot:lease:{stream}` (the answer's worker is alive; renewed
every lease/3 by leases.py), `bot:cancel:{stream}` (stop: set by a cancel on any worker, a
deletion, or the sweeper that finalized the answer) and `bot:sweep:{stream}` (claim_key:
one sweeper does the work). `bot:quota:{user}` counts answers in a fixed window.
"""

from __future__ import annotations

from broker import StreamStore
from domain.bot.events import DeltaEvent
from domain.events import decode


def answer_key(room_id: int) -> str:
    return f"bot:answer:{room_id}"


def lease_key(stream_id: str) -> str:
    return f"bot:lease:{stream_id}"


def cancel_key(stream_id: str) -> str:
    return f"bot:cancel:{stream_id}"


def sweep_key(stream_id: str) -> str:
    return f"bot:sweep:{stream_id}"


def quota_key(user_id: int) -> str:
    return f"bot:quota:{user_id}"


async def in_flight_envelopes(
    streams: StreamStore, room_id: int, position: tuple[str, int] | None = None
) -> list[bytes]:
    """What a new subscriber of `room:{room_id}` needs of the answer in flight, if any:
    `stream_start` and every delta (after `position`'s index when it names this stream).

    Nothing once the answer has ended: its durable message comes with the replay."""
    entries = await streams.stream_read(answer_key(room_id))
    start: int | None = None
    current: str | None = None
    headers = []
    for _, envelope in entries:
        try:
            header, _frame = decode(envelope)
        except ValueError:
            continue
        headers.append((header, envelope))
        if header.type == "stream_start":
            start, current = len(headers) - 1, header.stream
        elif header.type == "stream_end" and header.stream == current:
            start = current = None
    if start is None or current is None:
        return []
    after = position[1] if position is not None and position[0] == current else None
    out: list[bytes] = []
    for header, envelope in headers[start:]:
        if header.stream != current:
            continue
        if after is not None and (header.index is None or header.index <= after):
            continue
        out.append(envelope)
    return out


async def answered_text(streams: StreamStore, room_id: int, stream_id: str) -> tuple[str, int]:
    """The text streamed so far for `stream_id` and its next index (for a sweeper that
    finalizes an answer whose worker died)."""
    parts: dict[int, str] = {}
    for _, envelope in await streams.stream_read(answer_key(room_id)):
        try:
            header, frame = decode(envelope)
        except ValueError:
            continue
        if header.type == "delta" and header.stream == stream_id and header.index is not None:
            parts[header.index] = DeltaEvent.model_validate_json(frame).text
    text = "".join(parts[i] for i in sorted(parts))
    return text, (max(parts) + 1 if parts else 0)
