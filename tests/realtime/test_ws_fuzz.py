"""A property-based fuzzer of WebSocket frames against a real server process (issue 7).

For any frame a client can put on the wire — arbitrary JSON of any nesting, each known
field of each frame type with a wrong type, huge integers, NUL and lone surrogates (as
JSON escapes), random text and bytes — the server answers with documented frames only (an
`error` never says `internal`), never closes the connection, still answers `ping`
afterwards, and logs no traceback (the autouse guard reads the server's log).

Seeded and bounded: `derandomize=True` runs the same examples every time, and
MAX_EXAMPLES keeps the run well under a minute.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from domain.errors import ErrorCode
from realtime.frame_parser import CLIENT_TYPES
from tests.backing import Backing
from tests.conftest import make_settings
from tests.servers import ServerProcess

pytestmark = pytest.mark.processes

MAX_EXAMPLES = 3000
ANSWER_WITHIN = 10.0
# What a frame may be answered with (docs/protocol.md §3-5), besides `pong` for our probe.
REPLIES = frozenset({"error", "pong", "unsubscribed", "refreshed", "subscribed", "presence"})
ALLOWED_ERRORS = frozenset(ErrorCode) - {ErrorCode.internal}
FIELDS = ("ref", "token", "channel", "since", "seq", "body", "client_id", "stream")

_probes = itertools.count(1)

# --- strategies ---------------------------------------------------------------------------

nasty_text = st.sampled_from(
    [
        "",
        "\x00",
        "a\x00b",
        "\ud800",
        "x\udfff",
        "\udbff\udc00",  # a valid pair, written as two escapes
        "room:1",
        "room:0",
        "room:01",
        "room:-1",
        "room:1\n",
        f"room:{2**31}",
        f"room:{2**31 - 1}",
        "room:" + "9" * 18,
        "room:" + "9" * 40,
        "leaderboard:1",
        "ROOM:1",
        "r" * 65,
        "x" * 5000,
        "é" * 30,
        "🙂",
        "null",
    ]
)
huge_ints = st.sampled_from([-1, 0, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1])
text = st.text(max_size=40) | nasty_text
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | huge_ints
    | st.floats(allow_nan=True, allow_infinity=True)
    | text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
field_values = json_values | nasty_text | huge_ints


@st.composite
def typed_frames(draw: st.DrawFn) -> dict[str, Any]:
    """A frame of a known type whose fields are each absent, plausible or of a wrong type."""
    frame: dict[str, Any] = {"type": draw(st.sampled_from(sorted(CLIENT_TYPES)))}
    for name in FIELDS:
        if draw(st.booleans()):
            frame[name] = draw(field_values)
    return frame


@st.composite
def deep_json(draw: st.DrawFn) -> str:
    depth = draw(st.integers(min_value=1, max_value=300))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    balanced = draw(st.booleans())
    return opener * depth + "1" + (closer * depth if balanced else "")


wrong_type_field = st.fixed_dictionaries({"type": json_values, "ref": field_values})
raw_text = (
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=200)
    | st.sampled_from(["", " ", "{", "}", "[]", "null", "1" * 5000, '{"type":"ping"', "\ufeff{}"])
    | deep_json()
)
# Each one is sent as-is: a dict or list as JSON text (lone surrogates become \u escapes),
# a str as text, bytes as a binary frame.
wire_frames = (
    typed_frames()
    | wrong_type_field
    | json_values
    | st.dictionaries(text, json_values, max_size=5)
    | raw_text
    | st.binary(max_size=200)
)

# --- the server and a connection that survives a failed example ----------------------------


@pytest.fixture(scope="module")
def fuzz_server(
    schema: object, backing: Backing, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    settings = make_settings(
        backing,
        "parley-fuzz",
        Path(tmp_path_factory.mktemp("fuzz")),
        # The fuzzer sends far faster than a person; the rate limit has its own tests.
        ws_rate_per_second=1_000_000,
        ws_rate_burst=1_000_000,
    )
    server = ServerProcess(settings)
    server.start()
    try:
        _wait_ready(server)
        yield server
    finally:
        server.stop()


def _wait_ready(server: ServerProcess, within: float = 30) -> None:
    deadline = time.monotonic() + within
    with httpx.Client(timeout=2) as http:
        while True:
            assert server.proc is not None and server.proc.poll() is None, "server exited"
            try:
                if http.get(f"{server.url}/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("fuzz server not ready")
            time.sleep(0.1)


class Socket:
    """One authenticated connection, reopened if an example broke it (that example fails)."""

    def __init__(self, server: ServerProcess, token: str) -> None:
        self.server, self.token = server, token
        self.conn: ClientConnection | None = None
        self._opened = contextlib.ExitStack()

    def get(self) -> ClientConnection:
        if self.conn is None or self.conn.close_code is not None:
            self.conn = self._opened.enter_context(
                connect(self.server.ws_url, max_size=None, compression=None)
            )
            self.conn.send(json.dumps({"type": "auth", "token": self.token}))
            hello = json.loads(self.conn.recv(ANSWER_WITHIN))
            assert hello["type"] == "hello", hello
        return self.conn

    def close(self) -> None:
        self._opened.close()


@pytest.fixture(scope="module")
def socket(fuzz_server: ServerProcess) -> Iterator[Socket]:
    with httpx.Client(base_url=fuzz_server.url, timeout=10) as http:
        email = f"fuzz-{time.monotonic_ns()}@example.com"
        password = "correct horse battery"
        r = http.post(
            "/api/v1/auth/register",
            json={"email": email, "password": password, "display_name": "Fuzz"},
        )
        assert r.status_code == 201, r.text
        t = http.post("/api/v1/auth/token", data={"username": email, "password": password})
        assert t.status_code == 200, t.text
    sock = Socket(fuzz_server, t.json()["access_token"])
    yield sock
    sock.close()


def _encode(frame: object) -> str | bytes:
    if isinstance(frame, bytes):
        return frame
    if isinstance(frame, str):
        try:
            frame.encode()
        except UnicodeEncodeError:
            # A text frame is UTF-8 by definition: a str with lone surrogates cannot be put
            # on the wire at all (the client library raises), so send it as a JSON string,
            # where they arrive as \u escapes.
            return json.dumps(frame)
        return frame
    return json.dumps(frame, allow_nan=True)


@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=wire_frames)
def test_any_frame_gets_a_documented_answer_and_the_connection_keeps_working(
    socket: Socket, frame: object
) -> None:
    conn = socket.get()
    probe = f"probe-{next(_probes)}"
    try:
        conn.send(_encode(frame))
        conn.send(json.dumps({"type": "ping", "ref": probe}))
        while True:
            reply = json.loads(conn.recv(ANSWER_WITHIN))
            if reply.get("type") == "pong" and reply.get("ref") == probe:
                break
            assert reply.get("type") in REPLIES, reply
            if reply["type"] == "error":
                assert reply["code"] in ALLOWED_ERRORS, reply
                assert isinstance(reply["message"], str) and reply["message"], reply
    except ConnectionClosed as closed:
        pytest.fail(f"the server closed the connection ({closed}) after {frame!r}")
