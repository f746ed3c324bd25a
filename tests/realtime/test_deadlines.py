"""Receive deadlines on one timer per worker (realtime/deadlines.py): a wait ends when its
deadline passes (never much before, at most a resolution after), a message that arrives
first is returned and never lost, and a cancellation that is not the deadline's still
cancels."""

from __future__ import annotations

import asyncio
import time

import pytest
from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketState

from realtime.deadlines import RESOLUTION, Deadlines
from realtime.ws_session import receive_until

EARLY = 0.002  # uvloop's timers are rounded to the millisecond


def open_socket() -> tuple[WebSocket, asyncio.Queue[Message]]:
    """A Starlette WebSocket past its handshake, fed from a queue (the server's side)."""
    inbound: asyncio.Queue[Message] = asyncio.Queue()

    async def send(message: Message) -> None:
        raise AssertionError(f"nothing is sent here: {message}")

    ws = WebSocket({"type": "websocket", "path": "/ws", "headers": []}, inbound.get, send)
    ws.client_state = WebSocketState.CONNECTED
    return ws, inbound


def text(body: str) -> Message:
    return {"type": "websocket.receive", "text": body}


async def test_a_wait_with_nothing_arriving_ends_at_its_deadline() -> None:
    deadlines = Deadlines()
    ws, _ = open_socket()
    start = time.monotonic()
    deadline = start + 0.3
    assert await receive_until(ws, deadline, deadlines) is None
    ended = time.monotonic()
    assert deadline - EARLY <= ended < deadline + RESOLUTION + 0.5


async def test_a_message_before_the_deadline_is_returned_and_the_deadline_is_forgotten() -> None:
    deadlines = Deadlines()
    ws, inbound = open_socket()
    inbound.put_nowait(text("first"))
    assert await receive_until(ws, time.monotonic() + 0.2, deadlines) == text("first")
    # The task that waited is not cancelled later by the deadline it no longer waits on.
    await asyncio.sleep(0.2 + 2 * RESOLUTION)
    inbound.put_nowait(text("second"))
    assert await receive_until(ws, None, deadlines) == text("second")


async def test_many_sockets_each_wake_at_their_own_deadline_and_none_loses_a_message() -> None:
    deadlines = Deadlines()
    start = time.monotonic()
    sockets = [open_socket() for _ in range(50)]
    due = [start + 0.05 * (i % 10) for i in range(50)]
    # Every third socket gets a message before any deadline; it must get that message.
    for i, (_, inbound) in enumerate(sockets):
        if i % 3 == 0:
            inbound.put_nowait(text(f"m{i}"))

    async def wait(i: int) -> tuple[Message | None, float]:
        got = await receive_until(sockets[i][0], due[i], deadlines)
        return got, time.monotonic()

    results = await asyncio.gather(*(wait(i) for i in range(50)))
    for i, (got, ended) in enumerate(results):
        if i % 3 == 0:
            assert got == text(f"m{i}")
        else:
            assert got is None
            assert due[i] - EARLY <= ended < due[i] + RESOLUTION + 0.5


async def test_a_message_arriving_as_the_deadline_passes_is_kept_for_the_next_receive() -> None:
    deadlines = Deadlines()
    ws, inbound = open_socket()
    deadline = time.monotonic() + 0.1
    # Queued on the loop's timer for the same moment the deadline's bucket fires.
    asyncio.get_running_loop().call_at(
        asyncio.get_running_loop().time() + 0.1, inbound.put_nowait, text("racing")
    )
    got = await receive_until(ws, deadline, deadlines)
    if got is None:  # the deadline won: the message waits for the next receive
        got = await receive_until(ws, time.monotonic() + 5, deadlines)
    assert got == text("racing")
    assert inbound.empty()


async def test_cancelling_a_waiting_reader_is_not_taken_for_its_deadline() -> None:
    deadlines = Deadlines()
    ws, _ = open_socket()
    reader = asyncio.create_task(receive_until(ws, time.monotonic() + 60, deadlines))
    await asyncio.sleep(0.05)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader


async def test_a_cancellation_on_top_of_an_expired_deadline_still_cancels() -> None:
    deadlines = Deadlines()
    ws, _ = open_socket()
    reader = asyncio.create_task(receive_until(ws, time.monotonic() + 0.1, deadlines))
    loop = asyncio.get_running_loop()
    # Right after the bucket's timer (same loop iteration or the next): both cancellations
    # are pending when the reader wakes.
    fired = asyncio.Event()

    def cancel_after_expiry() -> None:
        if reader.cancelling():  # the deadline's cancellation is pending
            reader.cancel()
            fired.set()
        elif not reader.done():
            loop.call_soon(cancel_after_expiry)

    loop.call_soon(cancel_after_expiry)
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert fired.is_set()
