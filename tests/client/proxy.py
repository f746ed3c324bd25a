"""A real TCP forwarder between a client and a server that a test can stall and cut.

It lets a test put the client in a precise state a real network produces by chance: frames
delivered to the server while the answers are stuck on the way back (`hold`), then the
connection lost (`cut`). Nothing is simulated: both sides speak over real sockets.
"""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()  # cleared: server-to-client bytes are held back
        self._flowing.set()
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def hold(self) -> None:
        """Stop forwarding server-to-client bytes (client-to-server keeps flowing)."""
        self._flowing.clear()

    def cut(self) -> None:
        """Reset every open connection (what was held is lost) and let new ones flow."""
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        for task in self._tasks:
            task.cancel()
        self._flowing.set()

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _accept(self, down_r: asyncio.StreamReader, down_w: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.connections += 1
        self._writers += [down_w, up_w]
        for task in (
            asyncio.create_task(self._pipe(down_r, up_w, held=False)),
            asyncio.create_task(self._pipe(up_r, down_w, held=True)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, held: bool
    ) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while chunk := await reader.read(65536):
                if held:
                    await self._flowing.wait()
                writer.write(chunk)
                await writer.drain()
        writer.transport.abort()
