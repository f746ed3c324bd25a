"""The WebSocket session core (realtime/session_core.py), driven without any I/O.

Every time is given, so a heartbeat, an expiry or a refill is a number here, not a sleep.
The end-to-end behaviour over a real socket stays specified by test_ws_protocol.py,
test_backpressure.py and test_ws_hostile_input.py.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import ErrorCode
from realtime.client_frames import AuthFrame, PingFrame, SendFrame
from realtime.connection import CloseCode
from realtime.server_frames import ErrorFrame, ServerPingFrame
from realtime.session_core import (
    IDLE_CLOSE_HEARTBEATS,
    Limits,
    Phase,
    SessionCore,
    Step,
    TokenBucket,
)

LIMITS = Limits(
    heartbeat=10.0,
    auth_timeout=5.0,
    max_frame_bytes=1000,
    rate_per_second=2.0,
    rate_burst=5,
    max_violations=3,
)
T0 = 1000.0
EXPIRES = T0 + 600.0


def ping(ref: str = "p") -> str:
    return json.dumps({"type": "ping", "ref": ref})


def error_of(step: Step) -> ErrorFrame:
    (frame,) = step.send
    assert isinstance(frame, ErrorFrame)
    return frame


def open_core(limits: Limits = LIMITS, expires_at: float = EXPIRES) -> SessionCore:
    core = SessionCore(limits, T0)
    step = core.receive_text(json.dumps({"type": "auth", "token": "t", "ref": "a"}), T0)
    assert isinstance(step.authenticate, AuthFrame)
    core.authenticated(expires_at, T0)
    return core


# --- auth first ----------------------------------------------------------------------------


def test_it_waits_for_auth_until_the_auth_deadline() -> None:
    core = SessionCore(LIMITS, T0)
    assert core.start() == Step(deadline=T0 + 5.0)
    assert core.tick(T0 + 4.9) == Step(deadline=T0 + 5.0)
    step = core.tick(T0 + 5.0)
    assert step.close is CloseCode.unauthorized
    assert error_of(step).code is ErrorCode.unauthorized
    assert error_of(step).message == "No auth frame within the deadline."
    assert core.phase is Phase.closed


@pytest.mark.parametrize(
    ("first", "message"),
    [
        ("not json", "The first frame must be a valid {'type': 'auth'} frame: "),
        ("[]", "The first frame must be a valid {'type': 'auth'} frame: "),
        ('{"type": "auth", "token": 7}', "The first frame must be a valid"),
        ('{"type": "nope"}', "The first frame must be a valid"),
        ("x" * 1001, "The frame is too large."),
    ],
)
def test_anything_but_a_valid_auth_frame_first_is_unauthorized_then_4001(
    first: str, message: str
) -> None:
    step = SessionCore(LIMITS, T0).receive_text(first, T0)
    assert step.close is CloseCode.unauthorized and step.dispatch is None
    error = error_of(step)
    assert error.code is ErrorCode.unauthorized and error.message.startswith(message)
    assert error.ref is None


def test_another_frame_first_is_refused_with_its_ref() -> None:
    step = SessionCore(LIMITS, T0).receive_text(ping("mine"), T0)
    assert step.close is CloseCode.unauthorized
    assert error_of(step).ref == "mine"
    assert error_of(step).message == "The first frame must be {'type': 'auth'}."


def test_a_binary_first_frame_is_unauthorized_then_4001() -> None:
    step = SessionCore(LIMITS, T0).receive_binary(T0)
    assert step.close is CloseCode.unauthorized
    assert error_of(step).code is ErrorCode.unauthorized


def test_an_auth_frame_is_handed_over_and_nothing_else_happens_until_the_answer() -> None:
    core = SessionCore(LIMITS, T0)
    step = core.receive_text(json.dumps({"type": "auth", "token": "tok", "ref": "r"}), T0 + 1)
    assert step.authenticate == AuthFrame(type="auth", token="tok", ref="r")
    assert step.deadline is None and step.close is None
    # While the token is checked the auth deadline does not apply, and input is ignored.
    assert core.tick(T0 + 60) == Step()
    assert core.receive_text(ping(), T0 + 60) == Step()
    assert core.phase is Phase.authenticating
    assert core.authenticated(EXPIRES, T0 + 61) == Step(deadline=T0 + 71)
    assert core.deadline() == T0 + 71  # open: the heartbeat runs from the answer


def test_an_auth_frame_after_authentication_is_invalid() -> None:
    core = open_core()
    step = core.receive_text(json.dumps({"type": "auth", "token": "t", "ref": "again"}), T0)
    error = error_of(step)
    assert (error.code, error.message, error.ref) == (
        ErrorCode.invalid,
        "Already authenticated.",
        "again",
    )
    assert step.close is None


# --- heartbeat and idle close --------------------------------------------------------------


def test_silence_gets_a_ping_then_three_heartbeats_close_1000() -> None:
    core = open_core()
    assert core.deadline() == T0 + 10
    assert core.tick(T0 + 9.99) == Step(deadline=T0 + 10)
    step = core.tick(T0 + 10)
    assert step.send == (ServerPingFrame(),) and step.close is None
    assert step.deadline == T0 + IDLE_CLOSE_HEARTBEATS * 10
    assert core.tick(T0 + 29.9) == Step(deadline=T0 + 30)  # one ping, not one per tick
    step = core.tick(T0 + 30)
    assert step == Step(close=CloseCode.normal)


@pytest.mark.parametrize("answer", ["pong", "garbage", "binary", "too large"])
def test_any_frame_answers_the_ping(answer: str) -> None:
    core = open_core()
    core.tick(T0 + 10)
    if answer == "binary":
        core.receive_binary(T0 + 25)
    else:
        text = {"pong": '{"type": "pong"}', "garbage": "{", "too large": "x" * 2000}[answer]
        core.receive_text(text, T0 + 25)
    assert core.deadline() == T0 + 35
    assert core.tick(T0 + 30).close is None
    assert core.tick(T0 + 35).send == (ServerPingFrame(),)


# --- token expiry and refresh --------------------------------------------------------------


def test_the_token_expiring_is_unauthorized_then_4001() -> None:
    core = open_core(expires_at=T0 + 4)
    assert core.deadline() == T0 + 4  # before the heartbeat
    step = core.tick(T0 + 4)
    assert step.close is CloseCode.unauthorized
    assert error_of(step).message == "The token expired; reconnect."


@pytest.mark.parametrize("binary", [False, True])
def test_a_frame_after_expiry_is_not_handled(binary: bool) -> None:
    core = open_core(expires_at=T0 + 4)
    step = core.receive_binary(T0 + 5) if binary else core.receive_text(ping(), T0 + 5)
    assert step.dispatch is None and step.close is CloseCode.unauthorized


def test_refresh_moves_the_expiry() -> None:
    core = open_core(expires_at=T0 + 4)
    assert core.refreshed(T0 + 3600) == Step(deadline=T0 + 10)
    assert core.tick(T0 + 4).close is None
    assert core.receive_text(ping(), T0 + 5).dispatch == PingFrame(type="ping", ref="p")


# --- size, binary, parsing -----------------------------------------------------------------


def test_a_frame_over_the_limit_in_utf8_bytes_is_too_large_and_the_connection_stays() -> None:
    core = open_core()
    # 400 characters, 1200 bytes: the limit is in bytes.
    text = json.dumps({"type": "ping", "x": "€" * 400}, ensure_ascii=False)
    step = core.receive_text(text, T0)
    error = error_of(step)
    assert error.code is ErrorCode.too_large and "1000 bytes" in error.message
    assert step.close is None and step.dispatch is None
    assert core.receive_text(ping(), T0).dispatch is not None


def test_a_binary_frame_is_a_bad_frame() -> None:
    core = open_core()
    step = core.receive_binary(T0)
    assert error_of(step).code is ErrorCode.bad_frame and step.close is None


@pytest.mark.parametrize(
    ("text", "code", "ref"),
    [
        ("{", ErrorCode.bad_frame, None),
        ('{"type": "fly", "ref": "r1"}', ErrorCode.unknown_type, "r1"),
        ('{"type": "send", "channel": "room:1", "ref": "r2"}', ErrorCode.invalid, "r2"),
        ('{"type": "ping", "ref": "\\u0000"}', ErrorCode.invalid, None),
    ],
)
def test_a_frame_that_does_not_parse_gets_its_code(
    text: str, code: ErrorCode, ref: str | None
) -> None:
    error = error_of(open_core().receive_text(text, T0))
    assert (error.code, error.ref) == (code, ref)


def test_invalid_fields_are_named_in_the_details() -> None:
    error = error_of(open_core().receive_text('{"type": "send", "channel": "room:1"}', T0))
    assert error.details == [{"field": "body", "problem": "Field required"}]


def test_an_accepted_frame_is_handed_over_parsed() -> None:
    text = '{"type": "send", "channel": "room:7", "body": "hi", "ref": "s"}'
    step = open_core().receive_text(text, T0)
    assert step.dispatch == SendFrame(type="send", channel="room:7", body="hi", ref="s")
    assert step.send == () and step.close is None and step.deadline == T0 + 10


# --- rate limit ----------------------------------------------------------------------------


def test_a_flood_is_refused_with_refs_then_closed_4029() -> None:
    core = open_core()
    accepted = [core.receive_text(ping(f"ok{i}"), T0) for i in range(5)]
    assert all(s.dispatch is not None for s in accepted)
    for i in range(3):
        error = error_of(core.receive_text(ping(f"no{i}"), T0))
        assert (error.code, error.ref) == (ErrorCode.rate_limited, f"no{i}")
    assert core.receive_text(ping("last"), T0) == Step(close=CloseCode.rate_limited)
    assert core.phase is Phase.closed


def test_an_accepted_frame_resets_the_violation_count() -> None:
    core = open_core()
    for _ in range(5):
        core.receive_text(ping(), T0)
    for _ in range(3):
        assert error_of(core.receive_text(ping(), T0)).code is ErrorCode.rate_limited
    # Half a second at 2/s refills one token.
    assert core.receive_text(ping(), T0 + 0.5).dispatch is not None
    for _ in range(3):
        assert error_of(core.receive_text(ping(), T0 + 0.5)).code is ErrorCode.rate_limited
    assert core.receive_text(ping(), T0 + 0.5).close is CloseCode.rate_limited


def test_a_refused_frame_that_would_not_parse_is_still_answered_without_a_ref() -> None:
    core = open_core()
    for _ in range(5):
        core.receive_text(ping(), T0)
    error = error_of(core.receive_text("[" * 900, T0))
    assert error.code is ErrorCode.rate_limited and error.ref is None


@given(
    gaps=st.lists(st.floats(min_value=0, max_value=3, allow_nan=False), max_size=200),
    rate=st.floats(min_value=0.1, max_value=50),
    burst=st.integers(min_value=1, max_value=100),
)
def test_the_bucket_never_allows_more_than_burst_plus_rate_times_elapsed(
    gaps: list[float], rate: float, burst: int
) -> None:
    bucket = TokenBucket(rate, burst, T0)
    now, taken = T0, 0
    for gap in gaps:
        now += gap
        taken += bucket.take(now)
        assert taken <= burst + rate * (now - T0) + 1e-6


def test_the_bucket_refills_nothing_when_the_clock_goes_back() -> None:
    bucket = TokenBucket(1.0, 1, T0)
    assert bucket.take(T0)
    assert not bucket.take(T0 - 100)
    assert not bucket.take(T0 + 0.5)
    assert bucket.take(T0 + 1)


# --- after close ---------------------------------------------------------------------------


def test_after_a_close_every_input_is_ignored() -> None:
    core = open_core()
    core.closed()
    assert core.receive_text(ping(), T0) == Step()
    assert core.receive_binary(T0) == Step()
    assert core.tick(T0 + 1000) == Step()
    assert core.refreshed(EXPIRES) == Step()
    assert core.deadline() is None


# --- any sequence of inputs ----------------------------------------------------------------

frames = st.sampled_from(
    [
        ping(),
        '{"type": "pong"}',
        '{"type": "auth", "token": "t"}',
        '{"type": "subscribe", "channel": "room:1"}',
        "{",
        '{"type": 1}',
        "x" * 1001,
        "é" * 400,
    ]
)
events = st.one_of(
    st.tuples(st.just("text"), frames),
    st.tuples(st.just("binary"), st.just("")),
    st.tuples(st.just("tick"), st.just("")),
    st.tuples(st.just("refresh"), st.just("")),
)


@settings(max_examples=300, derandomize=True)
@given(
    script=st.lists(
        st.tuples(events, st.floats(min_value=0, max_value=15, allow_nan=False)), max_size=80
    ),
    lifetime=st.floats(min_value=1, max_value=200),
)
def test_any_sequence_of_inputs_keeps_the_guarantees(
    script: list[tuple[tuple[str, str], float]], lifetime: float
) -> None:
    core = open_core(expires_at=T0 + lifetime)
    now, expires, closed = T0, T0 + lifetime, False
    for (kind, text), gap in script:
        now += gap
        if kind == "text":
            step = core.receive_text(text, now)
        elif kind == "binary":
            step = core.receive_binary(now)
        elif kind == "refresh":
            expires = now + lifetime
            step = core.refreshed(expires)
        else:
            step = core.tick(now)
        if closed:
            assert step == Step()
            continue
        assert not (step.dispatch is not None and step.close is not None)
        assert step.authenticate is None
        if step.dispatch is not None:
            assert now < expires, "a frame was accepted on an expired token"
            assert core.violations == 0
        if step.close is not None:
            closed = True
            assert step.deadline is None and core.deadline() is None
        else:
            assert step.deadline is not None and step.deadline <= expires
            assert core.violations <= LIMITS.max_violations
        for frame in step.send:
            assert isinstance(frame, ErrorFrame | ServerPingFrame)
