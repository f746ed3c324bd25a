"""The publisher load-generator process: sends messages at a fixed rate on its connections
and reports acks, send lag and errors (its loop and queues as in bench/loadgen.py)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import uvloop

from bench.loadgen import BODY_PREFIX, PARLEY, SOCKETIO, Out, Spec, raise_nofile
from bench.sioclient import Sio, sio_connect
from bench.wsclient import WsClient, authenticate, connect


@dataclass
class PubState:
    sent_ns: dict[str, int] = field(default_factory=dict)
    ack_us: array[int] = field(default_factory=lambda: array("q"))
    acked: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    heads: dict[str, int] = field(default_factory=dict)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    done_sending: bool = False
    last_ack: int = 0

    def settle(self) -> None:
        if self.done_sending and not self.sent_ns:
            self.answered.set()


def _on_publisher_frame(state: PubState, frame: dict[str, Any]) -> None:
    now = time.time_ns()
    kind = frame.get("type")
    if kind == "ack":
        sent = state.sent_ns.pop(str(frame.get("ref")), None)
        if sent is not None:
            state.acked += 1
            state.last_ack = now
            state.ack_us.append((now - sent) // 1000)
        channel, seq = str(frame.get("channel")), int(frame.get("seq", 0))
        state.heads[channel] = max(state.heads.get(channel, 0), seq)
    elif kind == "error":
        state.sent_ns.pop(str(frame.get("ref")), None)
        state.errors[str(frame.get("code"))] += 1
    state.settle()


def _on_sio_ack(state: PubState, ref: str, answer: Any, now: int) -> None:
    sent = state.sent_ns.pop(ref, None)
    if sent is not None:
        state.acked += 1
        state.last_ack = now
        state.ack_us.append((now - sent) // 1000)
    state.settle()


async def _publish(
    host: str,
    port: int,
    pubs: list[Spec],
    rate: float,
    duration: float,
    tag: str,
    protocol: str = PARLEY,
) -> dict[str, Any]:
    state = PubState()
    seqs: Counter[str] = Counter()  # a peer's seqs: the publisher numbers each channel

    async def one(token: str, channel: str) -> tuple[WsClient | Sio, str]:
        if protocol == SOCKETIO:
            return await sio_connect(host, port), channel
        client = await connect(host, port)
        client.on_frame = lambda frame: _on_publisher_frame(state, frame)
        await authenticate(client, token)
        return client, channel

    clients = await asyncio.gather(*(one(token, channel) for token, channel in pubs))
    total = int(rate * duration)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    wall_start = time.time()
    i = 0
    max_lag = 0.0
    while i < total:
        now = loop.time()
        due = min(total, int((now - start) * rate) + 1)
        if due > i:
            max_lag = max(max_lag, now - (start + i / rate))
        while i < due:
            client, channel = clients[i % len(clients)]
            ref = f"p{i}"
            ns = time.time_ns()
            state.sent_ns[ref] = ns
            if isinstance(client, Sio):
                seqs[channel] += 1
                message = {"channel": channel, "seq": seqs[channel], "body": f"{BODY_PREFIX}{ns}"}
                client.emit("send", message, functools.partial(_on_sio_ack, state, ref))
            else:
                frame = (
                    f'{{"type":"send","ref":"{ref}","channel":"{channel}",'
                    f'"client_id":"{tag}-{i}","body":"{BODY_PREFIX}{ns}"}}'
                )
                client.send_raw(frame.encode())
            i += 1
        await asyncio.sleep(0.002)
    send_seconds = loop.time() - start
    state.done_sending = True
    state.settle()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(state.answered.wait(), 30)
    raw = [c.client if isinstance(c, Sio) else c for c, _ in clients]
    closed = Counter(str(c.close_code) for c in raw if c.close_code is not None)
    for c in raw:
        c.close()
    return {
        "sent": total,
        "publishers": len(clients),
        "acked": state.acked,
        "unanswered": len(state.sent_ns),
        "errors": dict(state.errors),
        "closed": dict(closed),
        "ack_us": state.ack_us.tobytes(),
        "heads": dict(seqs) if protocol == SOCKETIO else state.heads,
        "send_seconds": send_seconds,
        "max_lag": max_lag,
        "wall_start": wall_start,
        "wall_end": wall_start + send_seconds,
        "last_ack": state.last_ack / 1e9,
    }


def publisher_main(
    host: str,
    port: int,
    pubs: list[Spec],
    rate: float,
    duration: float,
    tag: str,
    out: Out,
    protocol: str = PARLEY,
) -> None:
    """Entry point of the publisher process: one step at a fixed rate, then the result."""
    raise_nofile()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        result = uvloop.run(_publish(host, port, pubs, rate, duration, tag, protocol))
        out.put(("published", 0, result))
    except Exception as exc:
        out.put(("failed", -1, repr(exc)))
        raise
