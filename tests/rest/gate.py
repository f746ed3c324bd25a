"""A TCP gate in front of the real PostgreSQL: open, it forwards bytes; shut, it refuses.

Shutting the gate closes its listening socket (new connections are refused, ECONNREFUSED)
and resets every connection it carried: to the server behind it, exactly what a database
restart or a network partition looks like. No mock: the bytes are real PostgreSQL's.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from sqlalchemy import make_url


class PostgresGate:
    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        # The machine's PostgreSQL is reached over TCP; the embedded one (pgserver) over a
        # unix socket in the directory given as `?host=`: the gate forwards to either.
        socket_dir = url.query.get("host")
        self._unix: str | None = None
        if isinstance(socket_dir, str) and socket_dir.startswith("/"):
            self._unix = f"{socket_dir}/.s.PGSQL.{url.port or 5432}"
            url = url.difference_update_query(["host"])
        self._target = (url.host or "127.0.0.1", url.port or 5432)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port: int = s.getsockname()[1]
        self.url = url.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    async def open(self) -> None:
        self._server = await asyncio.start_server(
            self._carry, "127.0.0.1", self.port, reuse_address=True
        )

    async def shut(self) -> None:
        """Refuse new connections and reset the open ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _carry(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            if self._unix is not None:
                server_r, server_w = await asyncio.open_unix_connection(self._unix)
            else:
                server_r, server_w = await asyncio.open_connection(*self._target)
        except OSError:
            client_w.transport.abort()
            return
        self._writers.update((client_w, server_w))
        pipes = [
            asyncio.create_task(self._pipe(client_r, server_w)),
            asyncio.create_task(self._pipe(server_r, client_w)),
        ]
        self._tasks.update(pipes)
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pipes:
                task.cancel()
                self._tasks.discard(task)
            for writer in (client_w, server_w):
                writer.transport.abort()
                self._writers.discard(writer)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
