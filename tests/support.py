"""Test clients that speak Parley's REST API and WebSocket protocol over real sockets."""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

NOISE = frozenset({"presence", "presence_diff", "join", "leave", "typing", "ping"})
_refs = itertools.count(1)


@dataclass
class User:
    id: int
    email: str
    name: str
    password: str
    token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    """A REST client bound to one server, with shortcuts for common set-up."""

    def __init__(self, http: httpx.AsyncClient, ws_url: str) -> None:
        self.http = http
        self.ws_url = ws_url

    async def user(self, name: str = "Asha", password: str = "correct horse battery") -> User:
        email = f"{name.lower()}-{secrets.token_hex(4)}@example.com"
        r = await self.http.post(
            "/api/v1/auth/register",
            json={"email": email, "password": password, "display_name": name},
        )
        assert r.status_code == 201, r.text
        uid = r.json()["id"]
        t = await self.http.post(
            "/api/v1/auth/token", data={"username": email, "password": password}
        )
        assert t.status_code == 200, t.text
        body = t.json()
        return User(uid, email, name, password, body["access_token"], body["refresh_token"])

    async def room(self, owner: User, *members: User, name: str = "Biology crew") -> int:
        r = await self.http.post("/api/v1/rooms", json={"name": name}, headers=owner.headers)
        assert r.status_code == 201, r.text
        room = r.json()
        for m in members:
            j = await self.http.post(
                "/api/v1/rooms/join", json={"invite_code": room["invite_code"]}, headers=m.headers
            )
            assert j.status_code == 200, j.text
        room_id: int = room["id"]
        return room_id

    async def post(self, user: User, room_id: int, body: str, client_id: str | None = None) -> Any:
        r = await self.http.post(
            f"/api/v1/rooms/{room_id}/messages",
            json={"body": body, "client_id": client_id or secrets.token_hex(8)},
            headers=user.headers,
        )
        assert r.status_code in (200, 201), r.text
        return r.json()

    async def ws(self, user: User | None = None, **kwargs: Any) -> WsClient:
        return await WsClient.open(self.ws_url, user.token if user else None, **kwargs)


class WsClient:
    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.hello: dict[str, Any] = {}
        # Frames read while waiting for a reply (an own `message` can overtake its `ack`);
        # later reads get them first, in arrival order.
        self._stash: deque[dict[str, Any]] = deque()

    @classmethod
    async def open(
        cls, url: str, token: str | None, *, origin: str | None = None, within: float = 10
    ) -> WsClient:
        headers = {"Origin": origin} if origin else None
        conn = await asyncio.wait_for(
            connect(url, additional_headers=headers, max_size=None, compression=None), within
        )
        client = cls(conn)
        if token is not None:
            await client.send({"type": "auth", "token": token})
            client.hello = await client.recv()
            assert client.hello["type"] == "hello", client.hello
        return client

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.conn.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, within: float = 10) -> dict[str, Any]:
        if self._stash:
            return self._stash.popleft()
        return await self._read(within)

    async def _read(self, within: float) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.conn.recv(), within)
        frame: dict[str, Any] = json.loads(raw)
        return frame

    async def expect(
        self, type_: str, within: float = 10, skip: frozenset[str] = NOISE
    ) -> dict[str, Any]:
        """The next frame that is not noise; it must be of `type_`."""
        async with asyncio.timeout(within):
            while True:
                frame = await self.recv(within)
                if frame["type"] in skip and frame["type"] != type_:
                    continue
                assert frame["type"] == type_, f"expected {type_}, got {frame}"
                return frame

    async def request(self, frame: dict[str, Any], within: float = 10) -> dict[str, Any]:
        """Send with a fresh ref; return the answer (or error) carrying that ref."""
        ref = f"r{next(_refs)}"
        await self.send({**frame, "ref": ref})
        async with asyncio.timeout(within):
            while True:
                reply = await self._read(within)
                if reply.get("ref") == ref:
                    return reply
                self._stash.append(reply)

    async def subscribe(self, channel: str, since: int | None = None) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "subscribe", "channel": channel}
        if since is not None:
            frame["since"] = since
        reply = await self.request(frame)
        assert reply["type"] == "subscribed", reply
        # PROTOCOL.md: `presence` comes right after `subscribed` (frames read earlier but
        # not consumed yet stay stashed for later reads).
        presence = await self._read(10)
        assert presence["type"] == "presence", presence
        return reply

    async def send_message(self, channel: str, body: str, client_id: str | None = None) -> Any:
        return await self.request(
            {
                "type": "send",
                "channel": channel,
                "body": body,
                "client_id": client_id or secrets.token_hex(8),
            }
        )

    async def messages(self, count: int, within: float = 20) -> list[dict[str, Any]]:
        """The next `count` message events (other frames skipped)."""
        out: list[dict[str, Any]] = []
        async with asyncio.timeout(within):
            while len(out) < count:
                frame = await self.recv(within)
                if frame["type"] == "message":
                    out.append(frame)
        return out

    async def closed_with(self, within: float = 10) -> int | None:
        """Wait for the server to close; the close code."""
        async with asyncio.timeout(within):
            try:
                while True:
                    await self.conn.recv()
            except Exception:  # noqa: BLE001 - any ConnectionClosed variant ends the wait
                pass
        return self.conn.close_code

    async def close(self) -> None:
        await self.conn.close()


class Socket:
    """A socket's write side as the connection sees it: it records every write and can be
    backed up (paused) and drained (resumed) like a transport past its high-water mark."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.paused = False
        self._resumed = asyncio.Event()
        self._resumed.set()

    def writable(self) -> bool:
        return not self.paused

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    async def wait_writable(self) -> None:
        await self._resumed.wait()

    def pause(self) -> None:
        self.paused = True
        self._resumed.clear()

    def resume(self) -> None:
        self.paused = False
        self._resumed.set()

    def texts(self) -> list[str]:
        """Every text frame written, in order (server frames: unmasked)."""
        data = b"".join(self.writes)
        out, pos = [], 0
        while pos < len(data):
            assert data[pos] == 0x81, "a final text frame"
            size, head = data[pos + 1], 2
            if size == 126:
                size, head = int.from_bytes(data[pos + 2 : pos + 4], "big"), 4
            elif size == 127:
                size, head = int.from_bytes(data[pos + 2 : pos + 10], "big"), 10
            out.append(data[pos + head : pos + head + size].decode())
            pos += head + size
        return out


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Poll in-process state that has no event to wait on, with a deadline."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - plain state, no event to await
            await asyncio.sleep(0.001)


@asynccontextmanager
async def lagging_event_loop(stall: float = 0.3, gap: float = 0.01) -> AsyncIterator[None]:
    """While inside, this event loop is saturated: it stalls `stall` seconds at a time and
    runs everything else only in `gap`-second windows between stalls, as a worker drowning
    in CPU-bound work would. An in-process server on the same loop really lags (tests of
    admission control)."""
    stop = asyncio.Event()

    async def stall_repeatedly() -> None:
        while not stop.is_set():
            time.sleep(stall)  # noqa: ASYNC251 - the stimulus: the loop must not run
            await asyncio.sleep(gap)

    task = asyncio.create_task(stall_repeatedly())
    try:
        yield
    finally:
        stop.set()
        await task
