"""Where the client stands on one channel, per delivery mode, and what to deliver.

Pure logic, no I/O: the connection feeds every event through `ChannelPosition.observe`,
which says whether the application should see it, and builds the `subscribe` fields that
resume the channel after a reconnect. The modes (DESIGN.md, "Channels, order and recovery"):

- ordered: durable events carry `seq` (+1 per event). Anything at or below the held seq
  is a duplicate; anything beyond seq + 1 is a gap (the server promises none, so a gap
  means "resubscribe from the held seq" rather than "deliver out of order").
- latest state: `board` snapshots carry a growing `version`; older or equal ones are stale.
  `rank` events have their own version line.
- indexed stream: `delta`s of the answer in flight carry stream id + index.
- quiz: `question`/`reveal` carry the question index; a resubscribe re-sends the current
  question, which the application has already seen.
- ephemeral (typing, presence, join, leave) and unknown events without `seq`: delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from client.events import (
    BoardEvent,
    Delta,
    Event,
    JsonObject,
    MessageEvent,
    ParleyEvent,
    QuestionEvent,
    RankEvent,
    RevealEvent,
    StreamEnd,
    StreamStart,
)


class Verdict(Enum):
    deliver = "deliver"
    drop = "drop"  # a duplicate or a stale snapshot: already seen, or superseded
    gap = "gap"  # something before this event is missing: resubscribe, do not deliver


@dataclass
class StreamPosition:
    id: str
    index: int  # the highest delta index held; -1 right after stream_start


def durable_seq(event: ParleyEvent) -> int | None:
    """The seq of a durable event. Unknown event types that carry an integer `seq` are
    durable too, because they take a place in the channel's seq line (a future durable
    kind must not look like a gap to an older client)."""
    if isinstance(event, MessageEvent):
        return event.seq
    if isinstance(event, Event):
        seq = event.data.get("seq")
        if isinstance(seq, int) and not isinstance(seq, bool):
            return seq
    return None


@dataclass
class ChannelPosition:
    """What the client holds on one channel. `seq` None means "never subscribed"."""

    seq: int | None = None
    version: int | None = None
    rank_version: int | None = None
    stream: StreamPosition | None = None
    question: int | None = None
    reveal: int | None = None

    def observe(self, event: ParleyEvent) -> Verdict:
        """Decide on one event and advance the position if it is delivered."""
        seq = durable_seq(event)
        if seq is not None:
            return self._ordered(seq)
        match event:
            case BoardEvent():
                if self.version is not None and event.version <= self.version:
                    return Verdict.drop
                self.version = event.version
            case RankEvent():
                if self.rank_version is not None and event.version <= self.rank_version:
                    return Verdict.drop
                self.rank_version = event.version
            case StreamStart():
                if self.stream is not None and self.stream.id == event.stream:
                    return Verdict.drop  # the replay of a stream we already hold
                self.stream = StreamPosition(event.stream, -1)
            case Delta():
                return self._delta(event)
            case StreamEnd():
                if self.stream is not None and self.stream.id == event.stream:
                    self.stream = None
            case QuestionEvent():
                if self.question is not None and event.index <= self.question:
                    return Verdict.drop
                self.question = event.index
            case RevealEvent():
                if self.reveal is not None and event.index <= self.reveal:
                    return Verdict.drop
                self.reveal = event.index
        return Verdict.deliver

    def _ordered(self, seq: int) -> Verdict:
        if self.seq is not None:
            if seq <= self.seq:
                return Verdict.drop
            if seq > self.seq + 1:
                return Verdict.gap
        self.seq = seq
        return Verdict.deliver

    def _delta(self, event: Delta) -> Verdict:
        held = self.stream
        if held is None or held.id != event.stream:
            # Joined mid-stream without its start (or a newer server skipped it): adopt it
            # only from its first delta, otherwise the answer would be missing its head.
            if event.index != 0:
                return Verdict.gap
            self.stream = StreamPosition(event.stream, 0)
            return Verdict.deliver
        if event.index <= held.index:
            return Verdict.drop
        if event.index > held.index + 1:
            return Verdict.gap
        held.index = event.index
        return Verdict.deliver

    def subscribed(self, head: int, recovered: bool) -> int | None:
        """Apply a `subscribed` answer. Returns the seq the client had asked to resume
        from when the server could not replay it (the caller surfaces a `Reset`)."""
        lost = self.seq if not recovered and self.seq is not None else None
        if self.seq is None or not recovered:
            # Without `since` only events after `head` follow; after a reset the same.
            self.seq = head
        return lost

    def resume_fields(self) -> JsonObject:
        """The `subscribe` fields that continue exactly where the client stands."""
        fields: JsonObject = {}
        if self.seq is not None:
            fields["since"] = self.seq
        if self.stream is not None and self.stream.index >= 0:
            fields["stream"] = {"id": self.stream.id, "index": self.stream.index}
        return fields
