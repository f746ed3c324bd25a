"""`Link`: one authenticated WebSocket to Parley that heals itself.

One supervisor task owns the socket's life: connect, `auth`, `hello`, let the subclass
restore its state (`_on_connected`), then serve until the socket drops, and start over
after a capped, jittered backoff. While connected, a reader task hands every frame to
`_dispatch`, and a refresher renews the token in band before it expires. One-shot
requests (`_request`) are matched to their answers by `ref`.

Reconnect policy by close code (docs/protocol.md §6): 1000/1012/4008 reconnect promptly
(jittered), 4001 promptly with a newly issued token, 4029 after `rate_limit_pause` more,
1006 and failed connects with exponential backoff, 1008 is fatal.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from client.backoff import Backoff
from client.errors import (
    AuthenticationFailed,
    ClientClosed,
    ConnectionLost,
    ParleyError,
    ProtocolError,
)
from client.events import JsonObject, User
from client.tokens import StaticToken, TokenSource, refresh_delay, token_times

log = logging.getLogger("parley.client")

_PROMPT = frozenset({1000, 1012, 4001, 4008})
_FATAL = frozenset({1008})


@dataclass(frozen=True)
class Hello:
    """The server's greeting on the current connection (`node` names the worker)."""

    node: str
    user: User
    heartbeat: int


@dataclass
class ClientStats:
    """Counters for observability (and for tests that assert on behaviour)."""

    connects: int = 0
    refreshes: int = 0
    resent: int = 0
    resubscribes: int = 0


class _Rejected(Exception):
    """The server refused the token at `auth`."""


class Link:
    """The self-healing connection under `ParleyClient`; see the module docstring."""

    def __init__(
        self,
        url: str,
        tokens: TokenSource | str,
        *,
        backoff: Backoff | None = None,
        refresh_at: float = 0.8,
        connect_timeout: float = 30.0,
        request_timeout: float = 15.0,
        rate_limit_pause: float = 5.0,
    ) -> None:
        if not 0 < refresh_at < 1:
            raise ValueError("refresh_at is a fraction of the token's lifetime, in (0, 1)")
        self.url = url
        self.tokens: TokenSource = StaticToken(tokens) if isinstance(tokens, str) else tokens
        self.backoff = backoff or Backoff()
        self.refresh_at = refresh_at
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.rate_limit_pause = rate_limit_pause
        self.hello: Hello | None = None
        self.stats = ClientStats()
        self._refs = itertools.count(1)
        self._replies: dict[str, asyncio.Future[JsonObject]] = {}
        self._ws: ClientConnection | None = None
        self._generation = 0  # +1 per connection: "was this sent on the current socket?"
        self._changed = asyncio.Event()  # set on every connect and on close/failure
        self._failure: BaseException | None = None
        self._closing = False
        self._supervisor: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # --- hooks for the subclass ---------------------------------------------------------------

    async def _on_connected(self) -> None:
        """Restore subscriptions and resend what is pending on a new connection."""

    async def _route(self, frame: JsonObject) -> None:
        """Handle a frame that is not a keep-alive or the answer to a one-shot request."""

    def _on_shutdown(self, error: BaseException, failure: BaseException | None) -> None:
        """End everything pending with `error`; `failure` is set when the client failed."""

    # --- life cycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Connect; returns after the first `hello`. Raises `AuthenticationFailed`, or
        `TimeoutError` when no connection succeeded within `connect_timeout`."""
        self._supervisor = asyncio.create_task(self._supervise(), name="parley-client")
        try:
            async with asyncio.timeout(self.connect_timeout):
                await self._wait_connected()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the connection; pending sends get `ClientClosed`, subscriptions end."""
        if self._closing and self._supervisor is None:
            return
        self._shutdown(ClientClosed("the client was closed"), None)
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            await asyncio.gather(supervisor, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def connected(self) -> bool:
        return self._ws is not None

    async def _supervise(self) -> None:
        fresh = False  # connect with a newly issued token (after a 4001 or a refusal)
        while not self._closing:
            try:
                token = await (self.tokens.refresh() if fresh else self.tokens.token())
                ws = await connect(self.url, max_size=None, compression=None, open_timeout=10)
            except AuthenticationFailed as exc:
                self._shutdown(exc, exc)
                return
            except Exception as exc:  # noqa: BLE001 - token sources are pluggable; retried
                log.info("connect failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(self.backoff.next())
                continue
            try:
                hello = await self._authenticate(ws, token)
            except _Rejected:
                await ws.close()
                if fresh:
                    failed = AuthenticationFailed("the server refused a freshly issued token")
                    self._shutdown(failed, failed)
                    return
                fresh = True
                continue
            except (ConnectionClosed, OSError, TimeoutError, InvalidHandshake) as exc:
                log.info("handshake failed", extra={"error": type(exc).__name__})
                await ws.close()
                await asyncio.sleep(self.backoff.next())
                continue
            fresh = False
            self.backoff.reset()
            code = await self._serve(ws, hello, token)
            if self._closing:
                return
            log.info("connection lost", extra={"close_code": code, "node": hello.node})
            if code in _FATAL:
                failure = ParleyError(f"the server closed with {code} (policy); not retrying")
                self._shutdown(failure, failure)
                return
            fresh = code == 4001
            pause = self.backoff.prompt() if code in _PROMPT else self.backoff.next()
            if code == 4029:
                pause += self.rate_limit_pause
            await asyncio.sleep(pause)

    async def _authenticate(self, ws: ClientConnection, token: str) -> Hello:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        try:
            async with asyncio.timeout(self.request_timeout):
                frame = json.loads(await ws.recv())
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == 4001:
                raise _Rejected from exc
            raise
        if isinstance(frame, dict) and frame.get("type") == "hello":
            user = User.model_validate(frame["user"])
            return Hello(str(frame["node"]), user, int(frame.get("heartbeat", 25)))
        code = frame.get("code") if isinstance(frame, dict) else None
        log.warning("auth refused", extra={"code": code})
        raise _Rejected

    async def _serve(self, ws: ClientConnection, hello: Hello, token: str) -> int | None:
        """Run one authenticated connection to its end; its close code (1006 when lost)."""
        self._generation += 1
        self._ws, self.hello = ws, hello
        self.stats.connects += 1
        self._changed.set()
        log.info("connected", extra={"node": hello.node, "generation": self._generation})
        reader = asyncio.create_task(self._read(ws))
        refresher = asyncio.create_task(self._refresh_loop(token))
        try:
            await self._on_connected()
            await reader
        finally:
            self._ws = None
            self._changed.clear()
            for task in (reader, refresher):
                task.cancel()
            await asyncio.gather(reader, refresher, return_exceptions=True)
            self._fail_replies(ConnectionLost("the connection dropped before the answer"))
            await ws.close()
        return ws.close_code

    def _shutdown(self, error: BaseException, failure: BaseException | None) -> None:
        if failure is not None:
            self._failure = failure
            log.error("client failed", extra={"error": type(failure).__name__})
        self._closing = True
        self._changed.set()
        self._fail_replies(error)
        self._on_shutdown(error, failure)
        # An open socket is closed by the supervisor's `_serve`, which `close()` cancels.

    def _fail_replies(self, error: BaseException) -> None:
        for future in self._replies.values():
            if not future.done():
                future.set_exception(error)
        self._replies.clear()

    def _raise_if_closed(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._closing:
            raise ClientClosed("the client is closed")

    async def _wait_connected(self) -> ClientConnection:
        while True:
            self._raise_if_closed()
            if self._ws is not None:
                return self._ws
            self._changed.clear()
            await self._changed.wait()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _next_ref(self, prefix: str) -> str:
        return f"{prefix}{next(self._refs)}"

    async def _write(self, ws: ClientConnection, frame: dict[str, object]) -> bool:
        try:
            await ws.send(json.dumps(frame))
        except ConnectionClosed:
            return False  # the supervisor notices the drop; what was pending is resent
        return True

    # --- inbound ------------------------------------------------------------------------------

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    log.warning("dropped a frame that is not JSON")
                    continue
                if isinstance(frame, dict):
                    await self._dispatch(ws, frame)
        except ConnectionClosed:
            pass

    async def _dispatch(self, ws: ClientConnection, frame: JsonObject) -> None:
        kind, ref = frame.get("type"), frame.get("ref")
        if kind == "ping":  # the server's keep-alive after client silence
            await self._write(ws, {"type": "pong"})
        elif isinstance(ref, str) and ref in self._replies:
            # Events never carry a ref, so whatever echoes a waiting ref is its answer.
            future = self._replies.pop(ref)
            if future.done():
                return
            if kind == "error":
                future.set_exception(ProtocolError.from_frame(frame))
            else:
                future.set_result(frame)
        else:
            await self._route(frame)

    # --- one-shot requests and the token --------------------------------------------------

    async def _request(self, frame: dict[str, object]) -> JsonObject:
        """Send a one-shot request and return its answer. Raises `ProtocolError`,
        `ConnectionLost` (dropped before the answer; not repeated) or `TimeoutError`."""
        async with asyncio.timeout(self.request_timeout):
            ws = await self._wait_connected()
            ref = self._next_ref("q")
            future: asyncio.Future[JsonObject] = asyncio.get_running_loop().create_future()
            self._replies[ref] = future
            try:
                if not await self._write(ws, {**frame, "ref": ref}):
                    raise ConnectionLost("the connection dropped before the request went out")
                return await future
            finally:
                self._replies.pop(ref, None)

    async def _refresh_loop(self, token: str) -> None:
        """Renew the token in band, each time `refresh_at` of its lifetime has passed."""
        while True:
            delay = refresh_delay(token, self.refresh_at)
            if delay is None:
                return  # a token without expiry never needs renewing
            await asyncio.sleep(delay)
            try:
                new = await self.tokens.refresh()
                old_times, new_times = token_times(token), token_times(new)
                if new_times is None or (
                    old_times is not None and new_times.expires_at <= old_times.expires_at
                ):
                    log.info("token source gave no later token; in-band refresh stopped")
                    return
                await self._request({"type": "refresh", "token": new})
            except (ConnectionLost, AuthenticationFailed):
                return  # a drop reconnects anyway; refused credentials surface on 4001
            except Exception as exc:  # noqa: BLE001 - retried until the token expires
                log.warning("in-band refresh failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(1.0)
                continue
            token = new
            self.stats.refreshes += 1
            log.info("token refreshed in band")
