"""Socket.IO (Engine.IO 4, WebSocket transport) on top of the load generator's WebSocket
client, for the peers `make bench` runs on the same workload (bench/peers/).

Only what the workload needs: the open / connect handshake, Engine.IO pings answered,
events emitted with or without an ack, acks matched by id, and every other event packet
(`42[...]`) handed with its arrival time to `on_event` (the receivers' tracker).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from bench.wsclient import WsClient, WsError, connect

PATH = "/socket.io/?EIO=4&transport=websocket"
EventHook = Callable[[bytes, int], bool]
AckHook = Callable[[Any, int], None]


class Sio:
    def __init__(self, client: WsClient) -> None:
        self.client = client
        self.connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.on_event: EventHook | None = None
        self._acks: dict[int, AckHook] = {}
        self._ids = 0
        client.fast = self._packet

    def _packet(self, payload: bytes, now: int) -> bool:
        head = payload[:2]
        if head == b"42":
            if self.on_event is not None:
                self.on_event(payload, now)
        elif head == b"43":
            start = payload.index(b"[")
            hook = self._acks.pop(int(payload[2:start]), None)
            if hook is not None:
                args = json.loads(payload[start:])
                hook(args[0] if args else None, now)
        elif payload == b"2":  # Engine.IO ping: answer or the server drops us
            self.client.send_raw(b"3")
        elif head == b"40":
            if not self.connected.done():
                self.connected.set_result(None)
        elif head == b"44":
            if not self.connected.done():
                self.connected.set_exception(WsError(payload.decode(errors="replace")))
        elif payload[:1] == b"0":  # Engine.IO open: connect to the default namespace
            self.client.send_raw(b"40")
        return True

    def emit(self, event: str, data: Any, ack: AckHook | None = None) -> None:
        head = b"42"
        if ack is not None:
            self._ids += 1
            self._acks[self._ids] = ack
            head += str(self._ids).encode()
        self.client.send_raw(head + json.dumps([event, data], separators=(",", ":")).encode())

    async def call(self, event: str, data: Any, within: float = 15.0) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(value: Any, now: int) -> None:
            if not fut.done():
                fut.set_result(value)

        self.emit(event, data, done)
        return await asyncio.wait_for(fut, within)


async def sio_connect(host: str, port: int, within: float = 10.0) -> Sio:
    made: list[Sio] = []
    client = await connect(host, port, PATH, within, lambda c: made.append(Sio(c)))
    sio = made[0]
    try:
        await asyncio.wait_for(asyncio.shield(sio.connected), within)
    except BaseException:
        client.close()
        raise
    return sio
