"""The client's pure parts, without I/O: positions and dedupe per delivery mode, backoff
bounds, the SSE grammar, JWT timing and forgiving event parsing."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime

import pytest

from client import (
    Backoff,
    BoardEvent,
    Delta,
    Event,
    MessageEvent,
    PresenceDiffEvent,
    RankEvent,
    StreamEnd,
    StreamStart,
    TypingEvent,
    User,
    parse_event,
)
from client.events import JsonObject
from client.positions import ChannelPosition, Verdict
from client.sse import SseMessage, SseParser, http_base
from client.tokens import refresh_delay, token_times
from domain.care.doctors import DoctorCard

CH = "room:1"
ASHA = User(id=7, name="Asha")


def message(seq: int) -> MessageEvent:
    return MessageEvent(
        channel=CH, seq=seq, id=seq, author=ASHA, body="x", created_at=datetime.now(UTC)
    )


def board(version: int) -> BoardEvent:
    return BoardEvent(channel="leaderboard:1", version=version, total=0, top=[])


def delta(stream: str, index: int) -> Delta:
    return Delta(channel=CH, stream=stream, index=index, text=str(index))


# --- ordered (seq) -----------------------------------------------------------------------------


def test_durable_events_are_delivered_once_in_order_and_a_gap_is_reported() -> None:
    p = ChannelPosition()
    assert p.subscribed(head=3, recovered=True) is None
    assert p.seq == 3  # without `since`, only events after the head follow
    assert p.observe(message(3)) is Verdict.drop
    assert p.observe(message(4)) is Verdict.deliver
    assert p.observe(message(4)) is Verdict.drop
    assert p.observe(message(6)) is Verdict.gap
    assert p.seq == 4  # a gap does not move the position
    assert p.resume_fields() == {"since": 4}


def test_a_resume_the_server_cannot_replay_reports_the_lost_position() -> None:
    p = ChannelPosition(seq=40)
    assert p.subscribed(head=12, recovered=False) == 40
    assert p.seq == 12
    assert p.observe(message(13)) is Verdict.deliver


def test_unknown_events_with_a_seq_take_their_place_in_the_seq_line() -> None:
    p = ChannelPosition(seq=1)
    future_kind = Event(type="member_removed", channel=CH, data={"seq": 2})
    assert p.observe(future_kind) is Verdict.deliver
    assert p.observe(message(3)) is Verdict.deliver  # not a gap
    assert p.observe(Event(type="member_removed", channel=CH, data={"seq": 2})) is Verdict.drop
    assert p.observe(Event(type="sparkle", channel=CH, data={})) is Verdict.deliver


# --- latest state (version) ------------------------------------------------------------------


def test_board_snapshots_older_or_equal_to_the_held_version_are_dropped() -> None:
    p = ChannelPosition()
    assert p.observe(board(5)) is Verdict.deliver
    assert p.observe(board(5)) is Verdict.drop
    assert p.observe(board(3)) is Verdict.drop
    assert p.observe(board(9)) is Verdict.deliver
    rank = RankEvent(channel="leaderboard:1", version=2, rank=1, score=4)
    assert p.observe(rank) is Verdict.deliver  # ranks have their own version line
    assert p.observe(rank) is Verdict.drop


# --- indexed streams ---------------------------------------------------------------------------


def test_stream_deltas_are_deduplicated_by_index_and_resume_from_the_held_one() -> None:
    p = ChannelPosition(seq=0)
    assert p.observe(StreamStart(channel=CH, stream="s1", reply_to=1)) is Verdict.deliver
    assert p.resume_fields() == {"since": 0}  # nothing of the stream held yet
    for i in range(3):
        assert p.observe(delta("s1", i)) is Verdict.deliver
    assert p.resume_fields() == {"since": 0, "stream": {"id": "s1", "index": 2}}
    # After a resubscribe a server may replay the start and early deltas: all dropped.
    assert p.observe(StreamStart(channel=CH, stream="s1")) is Verdict.drop
    assert p.observe(delta("s1", 1)) is Verdict.drop
    assert p.observe(delta("s1", 4)) is Verdict.gap
    assert p.observe(delta("s1", 3)) is Verdict.deliver
    assert p.observe(StreamEnd(channel=CH, stream="s1", status="complete", seq=2)) is (
        Verdict.deliver
    )
    assert p.stream is None
    assert p.observe(delta("s2", 5)) is Verdict.gap  # a stream joined without its head


def test_ephemeral_events_always_pass() -> None:
    p = ChannelPosition(seq=10)
    typing = TypingEvent(channel=CH, user=ASHA)
    assert p.observe(typing) is Verdict.deliver
    assert p.observe(typing) is Verdict.deliver


# --- backoff -----------------------------------------------------------------------------------


def test_backoff_delays_stay_within_a_doubling_ceiling_capped_and_reset() -> None:
    b = Backoff(base=1, cap=30, rng=random.Random(7))
    ceilings = []
    for _ in range(200):
        ceiling = b.ceiling()
        ceilings.append(ceiling)
        assert 0 <= b.next() <= ceiling <= 30
    assert ceilings[:6] == [1, 2, 4, 8, 16, 30]
    assert set(ceilings[5:]) == {30}
    b.reset()
    assert b.ceiling() == 1
    assert all(0 <= b.prompt() <= 1 for _ in range(100))
    assert b.failures == 0  # a prompt reconnect is not a failure
    with pytest.raises(ValueError):
        Backoff(base=0)


def test_backoff_is_jittered() -> None:
    b = Backoff(base=1, cap=30, rng=random.Random(1))
    for _ in range(5):
        b.next()
    draws = {round(Backoff(base=1, cap=30, rng=random.Random(s)).next(), 6) for s in range(20)}
    assert len(draws) == 20


# --- SSE grammar -------------------------------------------------------------------------------


def test_the_sse_parser_follows_the_event_stream_grammar() -> None:
    p = SseParser()
    lines = [
        ": stream open",
        "retry: 2000",
        "",
        "id: 21",
        "event: message",
        'data: {"a":',
        "data:1}",
        "",
        "event: presence",
        "data: {}",
        "",
    ]
    out = [m for m in map(p.feed, lines) if m is not None]
    assert out == [SseMessage("message", "21", '{"a":\n1}'), SseMessage("presence", "21", "{}")]
    assert p.retry == 2000 and p.last_id == "21"  # the last id persists, as in EventSource


def test_http_base_of_a_websocket_url() -> None:
    assert http_base("ws://127.0.0.1:8000/ws") == "http://127.0.0.1:8000"
    assert http_base("wss://chat.example/ws") == "https://chat.example"


# --- tokens ------------------------------------------------------------------------------------


def jwt(claims: dict[str, object]) -> str:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part(claims)}.signature"


def test_refresh_is_due_at_a_fraction_of_the_tokens_lifetime() -> None:
    token = jwt({"iat": 1000, "exp": 2800})  # 30 minutes
    times = token_times(token)
    assert times is not None and (times.issued_at, times.expires_at) == (1000, 2800)
    assert refresh_delay(token, 0.8, now=1000) == pytest.approx(1440)
    assert refresh_delay(token, 0.8, now=2500) == 0
    assert refresh_delay(jwt({"exp": 2800}), 0.8, now=1000) == 1740  # no iat: a minute early
    assert refresh_delay("not-a-jwt", 0.8) is None
    assert refresh_delay(jwt({"sub": "7"}), 0.8) is None  # never expires


# --- parsing -----------------------------------------------------------------------------------


def test_events_parse_typed_and_anything_unknown_passes_through_generic() -> None:
    frame: JsonObject = {
        "type": "message",
        "channel": CH,
        "seq": 3,
        "id": 9,
        "author": {"id": 1, "name": "Bot", "bot": True},
        "body": "See a cardiologist.",
        "client_id": None,
        "created_at": "2026-11-27T10:00:00.123456Z",
        "reply_to": 2,
        "triage": {"urgency": "urgent", "specialty": {"code": "cardiology", "name": "C"}},
        "new_field": [1, 2],
    }
    event = parse_event(frame)
    assert isinstance(event, MessageEvent)
    assert event.author.bot and event.triage is not None and event.reply_to == 2

    diff = parse_event(
        {
            "type": "presence_diff",
            "channel": CH,
            "joined": [{"id": 9, "name": "Ravi"}],
            "left": [{"id": 12, "name": "Mei"}],
            "count": 4187,
        }
    )
    assert isinstance(diff, PresenceDiffEvent)
    assert ([u.id for u in diff.joined], [u.id for u in diff.left], diff.count) == ([9], [12], 4187)

    unknown = parse_event({"type": "confetti", "channel": CH, "colour": "gold"})
    assert isinstance(unknown, Event) and unknown.data["colour"] == "gold"

    broken = parse_event({"type": "board", "channel": "leaderboard:1", "version": "x"})
    assert isinstance(broken, Event) and broken.type == "board"


def test_a_bot_answer_carries_the_doctors_the_server_suggested() -> None:
    # The card exactly as the server serializes it (domain/care/doctors.py), so a change of
    # the server's shape that the client cannot read fails here.
    card = DoctorCard(
        id=41,
        name="Dr. Rao (fictional)",
        specialty="cardiology",
        city="Pune",
        languages=["en", "mr"],
        available=True,
    )
    frame: JsonObject = {
        "type": "message",
        "channel": CH,
        "seq": 4,
        "id": 10,
        "author": {"id": 1, "name": "Bot", "bot": True},
        "body": "See a cardiologist.",
        "created_at": "2026-11-27T10:00:00Z",
        "reply_to": 3,
        "triage": {"urgency": "soon", "specialty": {"code": "cardiology", "name": "C"}},
        "doctors": [card.model_dump(mode="json")],
    }
    event = parse_event(frame)
    assert isinstance(event, MessageEvent)
    assert [(d.id, d.name, d.specialty, d.city) for d in event.doctors] == [
        (41, "Dr. Rao (fictional)", "cardiology", "Pune")
    ]
    plain = parse_event({k: v for k, v in frame.items() if k != "doctors"})
    assert isinstance(plain, MessageEvent) and plain.doctors == []


def test_a_reopened_sse_stream_drops_the_half_event_of_the_broken_one() -> None:
    p = SseParser()
    for line in ("id: 4", "event: message", "data: {half"):
        assert p.feed(line) is None
    p.restart()
    assert p.feed("") is None  # nothing half-received is dispatched
    assert p.last_id == "4"  # the resume point survives
