"""Reading Parley's Server-Sent Event streams, with resume.

`SseStream` opens `GET <url>` (e.g. `/api/v1/rooms/{id}/events`), yields the same typed
events a WebSocket subscription yields, and when the stream ends or breaks (a server
restart, a proxy timeout, a dead worker, token expiry) reopens it with `Last-Event-ID` set
to the last `id:` it saw, so durable events arrive exactly once and in order across drops.
Authentication is `Authorization: Bearer` or, with `ticket_url`, a single-use ticket per
(re)open, as a browser's EventSource would do.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import httpx

from client.backoff import Backoff
from client.errors import AuthenticationFailed, ProtocolError
from client.events import JsonObject, ParleyEvent, Reset, parse_event
from client.positions import ChannelPosition, Verdict
from client.tokens import StaticToken, TokenSource

log = logging.getLogger("parley.client")


@dataclass(frozen=True)
class SseMessage:
    event: str | None
    id: str | None
    data: str


@dataclass
class SseParser:
    """The text/event-stream grammar (WHATWG HTML, "Server-sent events"), fed line by line.

    `last_id` persists across events, as in EventSource: it is what a reconnect resumes
    from. `retry` holds the server's reconnection hint in milliseconds, if any.
    """

    last_id: str | None = None
    retry: int | None = None
    _event: str | None = None
    _data: list[str] = field(default_factory=list)

    def restart(self) -> None:
        """Forget a half-received event (a new response starts); keep id and retry."""
        self._event, self._data = None, []

    def feed(self, line: str) -> SseMessage | None:
        """Consume one line (without its line ending); a message when one is complete."""
        if line == "":
            if not self._data:
                self._event = None
                return None
            message = SseMessage(self._event, self.last_id, "\n".join(self._data))
            self._event, self._data = None, []
            return message
        if line.startswith(":"):
            return None  # a comment: the server's keep-alive
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self.last_id = value
        elif name == "retry" and value.isdigit():
            self.retry = int(value)
        return None


def http_base(ws_url: str) -> str:
    """`ws://host:port/ws` -> `http://host:port` (wss -> https)."""
    parts = urlsplit(ws_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, "", "", ""))


class SseStream:
    """An SSE event stream that resumes by itself. Use as an async context manager:

        async with SseStream(url, tokens) as stream:
            async for event in stream: ...

    Raises `ProtocolError` for refusals that reopening cannot fix (403, 404, 422 or an
    `error` event other than unauthorized/unavailable) and `AuthenticationFailed` when a
    fresh token is refused too. Transport errors and ends of stream are retried forever
    with capped jittered backoff.
    """

    def __init__(
        self,
        url: str,
        tokens: TokenSource | str,
        *,
        since: int | None = None,
        ticket_url: str | None = None,
        http: httpx.AsyncClient | None = None,
        backoff: Backoff | None = None,
        read_timeout: float = 45.0,
    ) -> None:
        self.url = url
        self.tokens: TokenSource = StaticToken(tokens) if isinstance(tokens, str) else tokens
        self.ticket_url = ticket_url
        self.backoff = backoff or Backoff()
        self.position = ChannelPosition(seq=since)
        self.opens = 0  # how many times the stream was (re)opened
        self._parser = SseParser(last_id=str(since) if since is not None else None)
        # The server's keep-alive comes at least every 15 s; silence much longer than that
        # means a dead peer, so a read timeout turns it into a reconnect.
        self._timeout = httpx.Timeout(10.0, read=read_timeout)
        self._http = http or httpx.AsyncClient(timeout=self._timeout)
        self._owns_http = http is None
        self._events: AsyncGenerator[ParleyEvent, None] | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._events is not None:
            await self._events.aclose()
        if self._owns_http:
            await self._http.aclose()

    def __aiter__(self) -> AsyncGenerator[ParleyEvent, None]:
        if self._events is None:
            self._events = self._run()
        return self._events

    @property
    def last_event_id(self) -> str | None:
        return self._parser.last_id

    async def _headers(self, fresh: bool) -> tuple[dict[str, str], dict[str, str]]:
        token = await (self.tokens.refresh() if fresh else self.tokens.token())
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        params: dict[str, str] = {}
        if self._parser.last_id is not None:
            headers["Last-Event-ID"] = self._parser.last_id
        bearer = {"Authorization": f"Bearer {token}"}
        if self.ticket_url is None:
            headers.update(bearer)
        else:
            r = await self._http.post(self.ticket_url, headers=bearer)
            if r.status_code == 401:
                raise _Unauthorized
            r.raise_for_status()
            params["ticket"] = str(r.json()["ticket"])
        return headers, params

    async def _run(self) -> AsyncGenerator[ParleyEvent, None]:
        fresh = False
        while True:
            pause: float | None = None
            try:
                headers, params = await self._headers(fresh)
                async with self._http.stream(
                    "GET", self.url, headers=headers, params=params, timeout=self._timeout
                ) as response:
                    if response.status_code == 401:
                        raise _Unauthorized
                    if response.status_code != 200:
                        await response.aread()
                        pause = self._refused(response)
                    else:
                        self.opens += 1
                        self._parser.restart()
                        self.backoff.reset()
                        fresh = False
                        async for event in self._read(response):
                            yield event
                        pause = self.backoff.prompt()
            except _Unauthorized:
                if fresh:
                    raise AuthenticationFailed(
                        "the stream refused a freshly issued token"
                    ) from None
                fresh, pause = True, 0.0
            except _Retry:
                pause = self.backoff.next()
            except httpx.TransportError as exc:
                log.info("sse stream broke", extra={"error": type(exc).__name__})
                pause = self.backoff.next()
            if self._parser.retry is not None and pause is not None:
                pause = max(pause, self._parser.retry / 1000 * self.backoff.prompt())
            await asyncio.sleep(pause or 0.0)

    def _refused(self, response: httpx.Response) -> float:
        if response.status_code >= 500 or response.status_code == 429:
            return self.backoff.next()
        try:
            error = response.json()["error"]
            raise ProtocolError.from_frame(error)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ProtocolError("internal", f"HTTP {response.status_code}") from None

    async def _read(self, response: httpx.Response) -> AsyncGenerator[ParleyEvent, None]:
        async for line in response.aiter_lines():
            message = self._parser.feed(line)
            if message is None:
                continue
            try:
                frame = json.loads(message.data)
            except ValueError:
                log.warning("dropped an sse event that is not JSON")
                continue
            if not isinstance(frame, dict):
                continue
            if message.event == "error":
                self._stream_error(frame)
            elif message.event == "subscribed" or frame.get("type") == "subscribed":
                reset = self._subscribed(frame)
                if reset is not None:
                    yield reset
            elif isinstance(frame.get("channel"), str):
                event = parse_event(frame)
                verdict = self.position.observe(event)
                if verdict is Verdict.deliver:
                    yield event
                elif verdict is Verdict.gap and self.position.seq is not None:
                    # A gap cannot be repaired inside one stream: reopen from the held seq.
                    self._parser.last_id = str(self.position.seq)
                    raise _Retry

    def _subscribed(self, frame: JsonObject) -> Reset | None:
        head, recovered = frame.get("head"), frame.get("recovered")
        if not isinstance(head, int):
            return None
        lost = self.position.subscribed(head, recovered is not False)
        if self._parser.last_id is None or lost is not None:
            # Resume from the head next time, not from the start of the channel.
            self._parser.last_id = str(head)
        if lost is None:
            return None
        channel = frame.get("channel")
        return Reset(channel=channel if isinstance(channel, str) else "", since=lost, head=head)

    def _stream_error(self, frame: JsonObject) -> None:
        code = str(frame.get("code"))
        if code == "unauthorized":
            raise _Unauthorized  # the token that opened the stream expired
        if code in ("unavailable", "internal"):
            raise _Retry
        raise ProtocolError.from_frame(frame)


class _Unauthorized(Exception):
    pass


class _Retry(Exception):
    pass
