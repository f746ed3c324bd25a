"""A minimal asyncio WebSocket client for load generation (RFC 6455; text frames, no
extensions, client frames masked).

The `websockets` library is correct and pleasant but costs tens of microseconds per frame;
a receiver that must take tens of thousands of frames per second on a machine it shares
with the server under test cannot afford that. This client parses frames straight out of
`data_received` and hands each text payload, with the time its chunk arrived, to a fast
hook (`fast`); whatever the hook does not consume is decoded as JSON and used to answer
requests (`call`), server keep-alives and protocol pings.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import struct
import time
from collections.abc import Callable
from typing import Any, cast

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

Frame = dict[str, Any]
FastHook = Callable[[bytes, int], bool]


class WsError(Exception):
    """The server refused, answered with an `error` frame, or closed the connection."""


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked client frame."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    key = os.urandom(4)
    if not n:
        return header + key
    stream = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")
    return header + key + masked


class WsClient(asyncio.Protocol):
    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.handshake: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.close_code: int | None = None
        self.fast: FastHook | None = None
        self.on_frame: Callable[[Frame], None] | None = None
        self._upgraded = False
        self._buf = bytearray()
        self._frag: bytearray | None = None
        self._waiters: list[tuple[frozenset[str], str | None, asyncio.Future[Frame]]] = []
        self._refs = 0

    # --- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        if self.close_code is None:
            self.close_code = 1006
        err = WsError(f"connection closed ({self.close_code})")
        if not self.handshake.done():
            self.handshake.set_exception(err)
        for _, _, fut in self._waiters:
            if not fut.done():
                fut.set_exception(err)
        self._waiters.clear()
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        buf = self._buf
        buf += data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            del buf[: end + 4]
            if b" 101 " not in status:
                self.handshake.set_exception(WsError(status.decode(errors="replace")))
                self._abort()
                return
            self._upgraded = True
            self.handshake.set_result(None)
        self._parse(now)

    # --- framing ------------------------------------------------------------------------------
    def _parse(self, now: int) -> None:
        buf = self._buf
        n = len(buf)
        pos = 0
        fast = self.fast
        while n - pos >= 2:
            b0 = buf[pos]
            size = buf[pos + 1] & 0x7F
            head = 2
            if size == 126:
                if n - pos < 4:
                    break
                size = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif size == 127:
                if n - pos < 10:
                    break
                size = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            end = pos + head + size
            if end > n:
                break
            payload = bytes(buf[pos + head : end])
            pos = end
            opcode = b0 & 0x0F
            if opcode == OP_TEXT and b0 & 0x80:
                if fast is None or not fast(payload, now):
                    self._text(payload)
            else:
                self._control(b0, opcode, payload, now)
        if pos:
            del buf[:pos]

    def _control(self, b0: int, opcode: int, payload: bytes, now: int) -> None:
        if opcode in (OP_TEXT, OP_BINARY):  # first fragment
            self._frag = bytearray(payload)
        elif opcode == OP_CONT and self._frag is not None:
            self._frag += payload
            if b0 & 0x80:
                whole, self._frag = bytes(self._frag), None
                if self.fast is None or not self.fast(whole, now):
                    self._text(whole)
        elif opcode == OP_PING:
            self._write(encode_frame(OP_PONG, payload))
        elif opcode == OP_CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            if self.close_code is None:
                self.close_code = code
                self._write(encode_frame(OP_CLOSE, payload[:2]))
            if self.transport is not None:
                self.transport.close()

    def _text(self, payload: bytes) -> None:
        try:
            frame = json.loads(payload)
        except ValueError:
            return
        if not isinstance(frame, dict):
            return
        kind = frame.get("type")
        if kind == "ping":  # the server's keep-alive after client silence
            self.send({"type": "pong"})
        ref = frame.get("ref")
        for i, (types, want_ref, fut) in enumerate(self._waiters):
            if fut.done():
                continue
            if (want_ref is not None and ref == want_ref) or (kind in types and want_ref is None):
                del self._waiters[i]
                if kind == "error":
                    fut.set_exception(WsError(f"{frame.get('code')}: {frame.get('message')}"))
                else:
                    fut.set_result(frame)
                return
        if kind == "error" and self._waiters and ref is None:
            types, _, fut = self._waiters.pop(0)
            if not fut.done():  # its caller may have timed out already
                fut.set_exception(WsError(f"{frame.get('code')}: {frame.get('message')}"))
            return
        if self.on_frame is not None:
            self.on_frame(frame)

    # --- sending ------------------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def send(self, frame: Frame) -> None:
        self.send_raw(json.dumps(frame, separators=(",", ":")).encode())

    def send_raw(self, payload: bytes) -> None:
        self._write(encode_frame(OP_TEXT, payload))

    def next_ref(self) -> str:
        self._refs += 1
        return f"b{self._refs}"

    async def call(self, frame: Frame, want: str, within: float = 10.0) -> Frame:
        """Send `frame` and wait for its answer: the frame with its ref, else one of type
        `want` (the `hello` answering `auth` has no ref). An `error` answer raises."""
        fut: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        ref = frame.get("ref")
        self._waiters.append((frozenset({want}), ref if isinstance(ref, str) else None, fut))
        self.send(frame)
        return await asyncio.wait_for(fut, within)

    def close(self, code: int = 1000) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self._write(encode_frame(OP_CLOSE, code.to_bytes(2, "big")))
        self.transport.close()

    async def wait_closed(self, within: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.closed), within)
        self._abort()


async def connect(
    host: str,
    port: int,
    path: str = "/ws",
    within: float = 10.0,
    prepare: Callable[[WsClient], None] | None = None,
) -> WsClient:
    """Open a WebSocket to host:port (loopback only: this is a load generator). `prepare`
    sees the client before the upgrade request goes out, so hooks it installs see even a
    frame that arrives in the same read as the 101 answer."""
    if not host.startswith("127.") and host not in ("localhost", "::1"):
        raise ValueError(f"the load generator only targets loopback addresses, not {host}")
    loop = asyncio.get_running_loop()
    _, proto = await asyncio.wait_for(loop.create_connection(WsClient, host, port), within)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    assert proto.transport is not None
    if prepare is not None:
        prepare(proto)
    proto.transport.write(request.encode())
    try:
        await asyncio.wait_for(proto.handshake, within)
    except BaseException:
        proto._abort()
        raise
    return proto


async def authenticate(client: WsClient, token: str, within: float = 15.0) -> Frame:
    return await client.call({"type": "auth", "token": token}, "hello", within)


async def subscribe(client: WsClient, channel: str, within: float = 15.0) -> Frame:
    ref = client.next_ref()
    return await client.call({"type": "subscribe", "ref": ref, "channel": channel}, "x", within)
