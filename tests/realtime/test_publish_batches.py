"""Group commit across real worker processes (decision 0018): many connections on two
workers sending into one room at once, over WebSocket and REST, with retries and a
stranger's sends in the same bursts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support import Api, User, WsClient

pytestmark = pytest.mark.processes

SENDERS = 12  # WebSocket senders, half on each worker
EACH = 25  # messages per sender (and per REST sender)


async def stored(api: Api, user: User, room: int) -> list[dict[str, Any]]:
    """Every stored message of the room, by seq (REST history, page by page)."""
    items: list[dict[str, Any]] = []
    while True:
        after = items[-1]["seq"] if items else 0
        r = await api.http.get(
            f"/api/v1/rooms/{room}/messages",
            params={"after": after, "limit": 200},
            headers=user.headers,
        )
        assert r.status_code == 200, r.text
        page = r.json()["items"]
        if not page:
            return items
        items.extend(page)


async def test_concurrent_sends_on_two_workers_get_distinct_gap_free_seqs_in_stored_order(
    apis: tuple[Api, Api],
) -> None:
    on_a, on_b = apis
    owner, poster, stranger = (
        await on_a.user("Owner"),
        await on_a.user("Poster"),
        await on_b.user("Stranger"),
    )
    senders = [await on_a.user(f"Sender{i}") for i in range(SENDERS)]
    readers = [await on_a.user("ReaderA"), await on_a.user("ReaderB")]
    room = await on_a.room(owner, poster, *senders, *readers)
    channel = f"room:{room}"
    subscribers = [await on_a.ws(readers[0]), await on_b.ws(readers[1])]
    for s in subscribers:
        await s.subscribe(channel)
    sockets = [await (on_a if i % 2 else on_b).ws(u) for i, u in enumerate(senders)]
    outsider = await on_b.ws(stranger)
    total = (SENDERS + 1) * EACH

    async def send_all(ws: WsClient, who: int) -> list[int]:
        seqs = []
        for n in range(EACH):
            ack = await ws.send_message(channel, f"{who}:{n}", client_id=f"{who}-{n}")
            assert ack["type"] == "ack", ack
            seqs.append(ack["seq"])
        return seqs

    async def post_all() -> list[int]:  # REST takes the same path as a WebSocket send
        return [
            (await (on_b if n % 2 else on_a).post(poster, room, f"rest:{n}", f"rest-{n}"))["seq"]
            for n in range(EACH)
        ]

    async def intrude() -> list[str]:  # a stranger's sends land in the same bursts
        codes = []
        for n in range(5):
            reply = await outsider.send_message(channel, f"let me in {n}")
            codes.append(reply["type"] == "error" and reply["code"])
        return codes

    receiving = [asyncio.create_task(s.messages(total, within=120)) for s in subscribers]
    acked, by_rest, refused = await asyncio.gather(
        asyncio.gather(*(send_all(ws, i) for i, ws in enumerate(sockets))), post_all(), intrude()
    )
    every = [seq for seqs in [*acked, by_rest] for seq in seqs]
    assert sorted(every) == list(range(1, total + 1))  # distinct and gap-free
    assert refused == ["forbidden"] * 5
    deliveries = await asyncio.gather(*receiving)
    rows = await stored(on_a, owner, room)
    assert [m["seq"] for m in rows] == list(range(1, total + 1))
    for got in deliveries:  # delivery order is stored order, on both workers
        assert [(m["seq"], m["body"]) for m in got] == [(m["seq"], m["body"]) for m in rows]
    for who, seqs in enumerate(acked):  # a sender's messages keep its send order
        mine = [int(m["body"].split(":")[1]) for m in rows if m["body"].startswith(f"{who}:")]
        assert mine == list(range(EACH)) and seqs == sorted(seqs)

    # Retries of acked sends, all at once from both workers: each is answered with its
    # original seq and nothing new is stored.
    retries = await asyncio.gather(
        *(ws.send_message(channel, "again", client_id=f"{who}-0") for who, ws in enumerate(sockets))
    )
    assert [r["seq"] for r in retries] == [seqs[0] for seqs in acked]
    assert len(await stored(on_b, owner, room)) == total
    for c in [*subscribers, *sockets, outsider]:
        await c.close()
