"""Admission control on WebSocket: an overloaded worker answers `send` at once with
`unavailable` + `retry_after`, stores nothing for it, keeps answering everything else,
and takes sends again when its event loop catches up (docs/protocol.md §5, decision 0026).

The stimulus is real: the server runs in this test's process and event loop, and
`lagging_event_loop` saturates that loop, so the server's loop lags exactly as a CPU-bound
worker's would.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import ApiFactory
from tests.support import Api, WsClient, lagging_event_loop

BOUND_MS = 100


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
    async with asyncio.timeout(60):
        while len(answers) < len(refs):
            reply = await ws.recv(within=60)
            if reply.get("ref") in refs:
                answers[reply["ref"]] = reply
    return [answers[ref] for ref in refs]


def send(channel: str, client_id: str) -> dict[str, Any]:
    return {"type": "send", "channel": channel, "body": f"body {client_id}", "client_id": client_id}


async def until_refused(ws: WsClient, channel: str, acked: list[str]) -> tuple[str, dict[str, Any]]:
    """Send (with a ping alongside) until a send is refused; its client id and the refusal.
    Every ack's client id goes to `acked`; every ping must be answered meanwhile."""
    async with asyncio.timeout(60):
        for n in range(1000):
            client_id = f"c{n}"
            answer, pong = await together(ws, send(channel, client_id), {"type": "ping"})
            assert pong["type"] == "pong", pong
            if answer["type"] == "ack":
                acked.append(client_id)
                continue
            assert answer["type"] == "error", answer
            return client_id, answer
    raise AssertionError("never refused")


async def history(api: Api, token: dict[str, str], room: int) -> list[tuple[str, int]]:
    r = await api.http.get(f"/api/v1/rooms/{room}/messages?limit=200", headers=token)
    return [(m["client_id"], m["seq"]) for m in r.json()["items"]]


async def test_an_overloaded_worker_refuses_send_at_once_and_recovers(
    overloadable: Api,
) -> None:
    api = overloadable
    asha = await api.user("Asha")
    room = await api.room(asha)
    channel = f"room:{room}"
    ws = await api.ws(asha)
    await ws.subscribe(channel)
    acked: list[str] = []
    async with lagging_event_loop():
        refused_id, refused = await until_refused(ws, channel, acked)
        assert refused["code"] == "unavailable"
        assert isinstance(refused["retry_after"], int) and 1 <= refused["retry_after"] <= 10
        # Still overloaded: a subscribe and a read are served, the next send refused.
        subscribed, refused_again = await together(
            ws, {"type": "subscribe", "channel": channel}, send(channel, "c-again")
        )
        assert subscribed["type"] == "subscribed", subscribed
        assert refused_again["code"] == "unavailable"
    # Every acked send is stored, the refused one is not.
    assert [cid for cid, _ in await history(api, asha.headers, room)] == acked

    # The same send, retried after the hint, is taken once the loop caught up: stored once.
    answer = refused
    async with asyncio.timeout(30):
        while answer["type"] != "ack":
            assert answer["code"] == "unavailable", answer
            await asyncio.sleep(answer["retry_after"])
            answer = await ws.send_message(channel, f"body {refused_id}", refused_id)
    stored = await history(api, asha.headers, room)
    assert [cid for cid, _ in stored] == [*acked, refused_id]
    assert stored[-1][1] == answer["seq"]
    await ws.close()
