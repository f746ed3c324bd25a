"""app/ws_protocol.py: uvicorn's WebSocket protocol plus a writer of prepared frames,
exercised through a real uvicorn server and a real WebSocket client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.ws_protocol import CORK_LIMIT, EXTENSION, Flag, FrameWriter, Inbox, for_loop
from realtime.connection import text_frame
from tests.servers import WS_PROTOCOL, free_port
from tests.support import until

Scope = dict[str, Any]


BURST = CORK_LIMIT * 2 + 5


class Endpoint:
    """A bare ASGI WebSocket endpoint that writes through the extension, then the ASGI
    send, then closes, and records what the writer said afterwards."""

    def __init__(self) -> None:
        self.extension_seen = False
        self.after_close: list[object] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        writer = scope["extensions"][EXTENSION]["writer"]
        self.extension_seen = True
        assert writer.writable()
        writer.write(text_frame("one") + text_frame("two"))  # one write, two frames
        for i in range(BURST):  # one turn, past the cork's limit: flushed early, in order
            writer.write(text_frame(f"b{i}"))
        await send({"type": "websocket.send", "text": "three"})  # interleaves whole
        writer.write(text_frame("x" * 70_000))  # a 64-bit length
        await send({"type": "websocket.close", "code": 4008})
        self.after_close.append(writer.writable())
        try:
            writer.write(text_frame("after the close"))
        except ConnectionError:
            self.after_close.append("refused")


@pytest.fixture
async def served() -> AsyncIterator[tuple[Endpoint, str]]:
    endpoint = Endpoint()
    port = free_port()
    config = uvicorn.Config(
        endpoint, host="127.0.0.1", port=port, ws=WS_PROTOCOL, lifespan="off", log_config=None
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    await until(lambda: server.started, within=15)
    yield endpoint, f"ws://127.0.0.1:{port}/"
    server.should_exit = True
    await asyncio.wait_for(task, 15)


async def test_prepared_frames_arrive_whole_and_in_order_with_asgi_frames_and_the_close(
    served: tuple[Endpoint, str],
) -> None:
    endpoint, url = served
    got: list[str] = []
    async with connect(url, max_size=None) as ws:
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(10):
                while True:
                    got.append(str(await ws.recv()))
    assert endpoint.extension_seen
    burst = [f"b{i}" for i in range(BURST)]
    assert got == ["one", "two", *burst, "three", "x" * 70_000]
    assert ws.close_code == 4008
    # Nothing may follow a close frame: the writer says so instead of writing.
    assert endpoint.after_close == [False, "refused"]


# --- the cork: one transport write per socket per turn of the event loop ----------------


class Transport:
    """Records what would have gone to the socket (the transport, not Redis or PostgreSQL,
    so a stand-in is enough to count writes)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closing


class Protocol:
    """The parts of uvicorn's protocol `FrameWriter` reads."""

    def __init__(self) -> None:
        self.transport = Transport()
        self.writable = Flag(True)
        self.close_sent = False
        self.disconnected = False


def writer() -> tuple[FrameWriter, Transport]:
    protocol = Protocol()
    return FrameWriter(protocol, for_loop(asyncio.get_running_loop())), protocol.transport  # type: ignore[arg-type]


async def test_frames_written_in_one_turn_reach_each_socket_in_one_write_at_its_end() -> None:
    (a, to_a), (b, to_b) = writer(), writer()
    a.write(b"1")
    b.write(b"x")
    a.write(b"2")
    a.write(b"3")
    assert to_a.writes == [] and to_b.writes == []  # held until the turn ends
    await asyncio.sleep(0)
    assert to_a.writes == [b"123"]
    assert to_b.writes == [b"x"]
    a.write(b"4")  # the next turn: held again, and written again
    await asyncio.sleep(0)
    assert to_a.writes == [b"123", b"4"]


async def test_a_socket_holding_the_cork_limit_is_written_at_once() -> None:
    w, transport = writer()
    for _ in range(CORK_LIMIT):
        w.write(b".")
    assert transport.writes == [b"." * CORK_LIMIT]  # flow control sees a burst early
    w.write(b"!")
    await asyncio.sleep(0)
    assert transport.writes == [b"." * CORK_LIMIT, b"!"]


async def test_frames_held_when_the_close_frame_went_out_are_never_written_after_it() -> None:
    protocol = Protocol()
    w = FrameWriter(protocol, for_loop(asyncio.get_running_loop()))  # type: ignore[arg-type]
    w.write(b"late")
    protocol.close_sent = True  # the protocol wrote a close frame without flushing first
    await asyncio.sleep(0)
    assert protocol.transport.writes == []
    with pytest.raises(ConnectionError):
        w.write(b"after")


async def test_a_socket_whose_write_fails_does_not_keep_the_others_frames() -> None:
    (broken, to_broken), (other, to_other) = writer(), writer()

    def fail(data: bytes) -> None:
        raise RuntimeError("transport failed")

    to_broken.write = fail  # type: ignore[method-assign]
    broken.write(b"lost")
    other.write(b"1")
    await asyncio.sleep(0)  # the failure is logged by the cork, not raised into the loop
    assert to_other.writes == [b"1"]
    other.write(b"2")  # and the next turn is flushed as usual
    await asyncio.sleep(0)
    assert to_other.writes == [b"1", b"2"]


# --- Inbox and Flag: uvicorn's queue and event, without a deque per idle socket ----------


async def test_the_inbox_hands_messages_to_its_reader_in_order_and_wakes_a_waiting_reader() -> None:
    inbox = Inbox()
    assert inbox.empty()
    inbox.put_nowait(1)
    inbox.put_nowait(2)
    assert not inbox.empty()
    assert [await inbox.get(), await inbox.get()] == [1, 2]
    assert inbox.empty()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)  # the reader is waiting now
    assert not reader.done()
    inbox.put_nowait(3)
    assert await asyncio.wait_for(reader, 5) == 3


async def test_the_inbox_refuses_a_second_concurrent_reader_and_survives_a_cancelled_one() -> None:
    inbox = Inbox()
    first = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        await inbox.get()
    first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first
    # The cancelled reader left nothing behind: the next one gets the next message.
    inbox.put_nowait("after")
    assert await asyncio.wait_for(inbox.get(), 5) == "after"


async def test_the_flag_wakes_every_waiter_when_set_and_a_cancelled_waiter_wakes_no_one() -> None:
    flag = Flag(False)
    assert not flag.is_set()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    waiters[0].cancel()
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters[1:])
    flag.set()
    await asyncio.wait_for(asyncio.gather(*waiters[1:]), 5)
    assert waiters[0].cancelled()
    flag.clear()
    assert not flag.is_set()
    flag.set()
    await asyncio.wait_for(flag.wait(), 5)  # set: returns at once
