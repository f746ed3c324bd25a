"""uvicorn's WebSocket protocol with one addition: a way to write prepared frames.

`parley serve`, the test servers and `make bench` run uvicorn with
`ws="app.ws_protocol:ParleyWebSocketProtocol"`. It is uvicorn's own websockets Sans-I/O
implementation (handshake, reads, pings, close handshake, flow control all unchanged) that
puts a `parley.frames` ASGI extension in each WebSocket scope: a `FrameWriter` the
endpoint hands to its connection (realtime/connection.py `FrameSink`), so a frame built
once per fan-out is written as bytes to every socket — no per-frame ASGI send, encode and
framing. Why this seam: docs/decisions/0017-frame-once-write-many.md.

A server without the extension (another `--ws`, Starlette's TestClient) gets the plain
ASGI path; nothing depends on the extension being there.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

EXTENSION = "parley.frames"


class FrameWriter:
    """Writes complete, final, unmasked data frames straight to the transport, between
    whatever frames the protocol writes itself (pings, pongs, close): every write is whole
    frames, so frames never interleave. Refuses once the close frame is sent or the socket
    is gone: nothing may follow a close frame."""

    __slots__ = ("_p",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._p = protocol

    def writable(self) -> bool:
        p = self._p
        return (
            p.writable.is_set()
            and not p.close_sent
            and not p.disconnected
            and not p.transport.is_closing()
        )

    def write(self, data: bytes) -> None:
        p = self._p
        if p.close_sent or p.disconnected or p.transport.is_closing():
            raise ConnectionResetError("the WebSocket is closing")
        p.transport.write(data)

    async def wait_writable(self) -> None:
        # Set by resume_writing (below the low-water mark) and by connection_lost.
        await self._p.writable.wait()


class ParleyWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and self.response.status_code == 101:
            scope["extensions"][EXTENSION] = {"writer": FrameWriter(self)}
