"""Hostile or malformed WebSocket input is answered with a documented error, never a crash.

Issue 7 ("no 500 for any input"), WebSocket side: every frame gets an `error` with a
documented code other than `internal`, the connection stays usable, and before `auth`
anything but a valid `auth` frame is `unauthorized` then close 4001 (docs/protocol.md §1).
"""

from __future__ import annotations

import pytest

from tests.conftest import ApiFactory
from tests.support import Api, WsClient

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


async def still_answers_ping(ws: WsClient) -> None:
    await ws.send({"type": "ping", "ref": "still-open"})
    assert (await ws.expect("pong"))["ref"] == "still-open"


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "subscribe", "channel": f"room:{INT32_MAX + 1}"},
        {"type": "subscribe", "channel": "room:999999999999999999"},
        {"type": "send", "channel": f"room:{INT32_MAX + 1}", "body": "hi"},
        {"type": "typing", "channel": f"room:{INT32_MAX + 1}"},
        {"type": "unsubscribe", "channel": f"room:{INT32_MAX + 1}"},
        {"type": "read", "channel": f"room:{INT32_MAX + 1}", "seq": 1},
        {"type": "read", "channel": "room:1", "seq": INT64_MAX + 1},
        {"type": "subscribe", "channel": "room:1", "since": INT64_MAX + 1},
        {"type": "subscribe", "channel": "room:1", "since": 10**400},
    ],
)
async def test_ids_beyond_their_column_range_are_invalid(
    api: Api, frame: dict[str, object]
) -> None:
    ws = await api.ws(await api.user())
    reply = await ws.request(frame)
    assert reply["type"] == "error" and reply["code"] == "invalid", reply
    await still_answers_ping(ws)
    await ws.close()


async def test_the_largest_channel_id_in_range_is_a_missing_room_not_an_error(api: Api) -> None:
    ws = await api.ws(await api.user())
    reply = await ws.request({"type": "subscribe", "channel": f"room:{INT32_MAX}"})
    assert reply["type"] == "error" and reply["code"] == "not_found", reply
    await ws.close()


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 30000,
        "[" * 30000 + "]" * 30000,
        '{"type": "ping", "ref": "deep", "x": ' + "[" * 100 + "]" * 100 + "}",
        '{"a":' * 5000 + "1" + "}" * 5000,
    ],
    ids=["open-brackets", "balanced-brackets", "deep-field", "deep-objects"],
)
async def test_deeply_nested_json_is_a_bad_frame(api: Api, raw: str) -> None:
    ws = await api.ws(await api.user())
    await ws.send(raw)
    error = await ws.expect("error")
    assert error["code"] == "bad_frame", error
    await still_answers_ping(ws)
    await ws.close()


async def test_nesting_up_to_the_limit_is_accepted(api: Api) -> None:
    ws = await api.ws(await api.user())
    await ws.send('{"type": "ping", "ref": "ok", "x": ' + "[" * 31 + "]" * 31 + "}")
    assert (await ws.expect("pong"))["ref"] == "ok"
    await ws.close()


async def test_a_deep_frame_refused_by_the_rate_limit_is_still_answered(
    api_with: ApiFactory,
) -> None:
    async with api_with(ws_rate_per_second=0.001, ws_rate_burst=1) as api:
        ws = await api.ws(await api.user())
        await ws.send({"type": "ping", "ref": "uses-the-only-token"})
        assert (await ws.expect("pong"))["ref"] == "uses-the-only-token"
        await ws.send("[" * 30000)
        error = await ws.expect("error")
        assert error["code"] == "rate_limited", error
        await ws.close()


@pytest.mark.parametrize(
    "raw",
    [
        '{"type": ["ping"]}',
        '{"type": {"a": 1}}',
        '{"type": 1}',
        '{"type": null}',
        '{"type": true}',
    ],
)
async def test_a_type_that_is_not_a_string_is_unknown_type(api: Api, raw: str) -> None:
    ws = await api.ws(await api.user())
    await ws.send(raw)
    error = await ws.expect("error")
    assert error["code"] == "unknown_type", error
    await still_answers_ping(ws)
    await ws.close()


@pytest.mark.parametrize(
    "raw",
    [
        '{"type": ["auth"], "token": "x"}',
        '{"type": {"a": 1}}',
        "[" * 30000,
        '{"type": "auth", "token": "\\ud800"}',
        '{"type": "auth", "ref": "\\udfff", "token": "x"}',
        '{"type": "auth", "token": 7}',
        "not json",
        "[]",
    ],
)
async def test_anything_but_a_valid_auth_frame_first_is_unauthorized_then_4001(
    api: Api, raw: str
) -> None:
    ws = await WsClient.open(api.ws_url, None)
    await ws.send(raw)
    error = await ws.recv()
    assert error["type"] == "error" and error["code"] == "unauthorized", error
    assert await ws.closed_with() == 4001


async def test_a_binary_first_frame_is_unauthorized_then_4001(api: Api) -> None:
    ws = await WsClient.open(api.ws_url, None)
    await ws.conn.send(b'{"type": "auth"}')
    error = await ws.recv()
    assert error["type"] == "error" and error["code"] == "unauthorized", error
    assert await ws.closed_with() == 4001


@pytest.mark.parametrize(
    "raw",
    [
        '{"type": "ping", "ref": "\\ud800"}',
        '{"type": "ping", "ref": "ok\\udc00"}',
        '{"type": "subscribe", "ref": "s", "channel": "room:1\\ud800"}',
        '{"type": "send", "ref": "s", "channel": "room:1", "body": "hi \\udbff"}',
        '{"type": "\\ud800"}',
        '{"type": "ping", "\\ud800": 1}',
        '{"type": "ping", "ref": "nul\\u0000"}',
        '{"type": "send", "ref": "s", "channel": "room:1", "body": "a\\u0000b"}',
    ],
)
async def test_lone_surrogates_and_nul_are_invalid_and_the_error_is_sendable(
    api: Api, raw: str
) -> None:
    ws = await api.ws(await api.user())
    await ws.send(raw)
    error = await ws.expect("error")
    assert error["code"] == "invalid", error
    # The unusable ref is dropped, never echoed (the answer must stay encodable JSON).
    assert error.get("ref") in (None, "s"), error
    await still_answers_ping(ws)
    await ws.close()


async def test_an_overlong_ref_is_not_echoed(api: Api) -> None:
    ws = await api.ws(await api.user())
    await ws.send({"type": "ping", "ref": "r" * 65})
    error = await ws.expect("error")
    assert error["code"] == "invalid" and "ref" not in error, error
    await ws.close()


async def test_an_auth_token_over_4096_chars_is_unauthorized(api: Api) -> None:
    ws = await WsClient.open(api.ws_url, None)
    await ws.send({"type": "auth", "token": "x" * 4097})
    error = await ws.recv()
    assert error["type"] == "error" and error["code"] == "unauthorized", error
    assert await ws.closed_with() == 4001
