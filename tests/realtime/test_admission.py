"""Admission control on WebSocket: an overloaded worker answers `send` at once with
`unavailable` + `retry_after`, stores nothing, keeps answering everything else, and takes
sends again when its event loop catches up (docs/protocol.md §5, docs/decisions/0026).

The stimulus is real: the server runs in this test's process and event loop, so blocking
the loop (`time.sleep`) makes the server's loop lag exactly as a CPU-bound worker would.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import ApiFactory
from tests.support import Api, WsClient, stall_event_loop

BOUND_MS = 100
STALL_SECONDS = 2.0


@pytest.fixture
async def overloadable(api_with: ApiFactory) -> AsyncIterator[Api]:
    """A real server in this loop, with a small admission bound."""
    async with api_with(admission_lag_ms=BOUND_MS) as api:
        yield api


async def together(ws: WsClient, *frames: dict[str, Any]) -> list[dict[str, Any]]:
    """Send `frames` back to back (so the server reads them in one burst); their answers,
    in the same order, matched by ref (anything else is noise here)."""
    refs = [f"t{i}-{secrets.token_hex(3)}" for i in range(len(frames))]
    for ref, frame in zip(refs, frames, strict=True):
        await ws.send({**frame, "ref": ref})
    answers: dict[str, dict[str, Any]] = {}
    async with asyncio.timeout(20):
        while len(answers) < len(refs):
            reply = await ws.recv()
            if reply.get("ref") in refs:
                answers[reply["ref"]] = reply
    return [answers[ref] for ref in refs]


async def retry_until_acked(
    ws: WsClient, channel: str, body: str, client_id: str
) -> dict[str, Any]:
    """Resend the same client id, honouring each refusal's retry_after, until acked."""
    async with asyncio.timeout(30):
        while True:
            reply: dict[str, Any] = await ws.send_message(channel, body, client_id)
            if reply["type"] == "ack":
                return reply
            assert reply["code"] == "unavailable", reply
            await asyncio.sleep(reply["retry_after"])


async def test_an_overloaded_worker_refuses_send_at_once_and_recovers(
    overloadable: Api,
) -> None:
    api = overloadable
    asha = await api.user("Asha")
    room = await api.room(asha)
    channel = f"room:{room}"
    ws = await api.ws(asha)
    await ws.subscribe(channel)
    before = await ws.send_message(channel, "before the stall", "c-before")
    assert before["type"] == "ack"

    stall_event_loop(STALL_SECONDS)
    # A send and a ping in flight together: the send is refused, the ping still answered.
    refused, pong = await together(
        ws,
        {"type": "send", "channel": channel, "body": "during the stall", "client_id": "c-during"},
        {"type": "ping"},
    )
    assert refused["type"] == "error", refused
    assert refused["code"] == "unavailable"
    assert isinstance(refused["retry_after"], int) and 1 <= refused["retry_after"] <= 10
    assert pong["type"] == "pong"

    # Nothing was stored for the refused send; the acked one is there.
    page = (await api.http.get(f"/api/v1/rooms/{room}/messages", headers=asha.headers)).json()
    assert [m["client_id"] for m in page["items"]] == ["c-before"]

    # The same send, retried after the hint, is taken once the loop caught up: stored once.
    ack = await retry_until_acked(ws, channel, "during the stall", "c-during")
    page = (await api.http.get(f"/api/v1/rooms/{room}/messages", headers=asha.headers)).json()
    assert [(m["client_id"], m["seq"]) for m in page["items"]] == [
        ("c-before", before["seq"]),
        ("c-during", ack["seq"]),
    ]
    await ws.close()


async def test_reads_and_subscribes_stay_admitted_under_overload(overloadable: Api) -> None:
    api = overloadable
    asha = await api.user("Asha")
    room = await api.room(asha)
    ws = await api.ws(asha)
    stall_event_loop(STALL_SECONDS)
    subscribed, refused = await together(
        ws,
        {"type": "subscribe", "channel": f"room:{room}"},
        {"type": "send", "channel": f"room:{room}", "body": "hello", "client_id": "c1"},
    )
    assert subscribed["type"] == "subscribed", subscribed
    assert refused["code"] == "unavailable"
    await ws.close()
