"""The direct write path (Connection with a FrameSink): frames go straight to a writable
socket, queue while it is backed up, and come out in order, coalesced, bounded."""

from __future__ import annotations

import asyncio
import json

from domain.events import UserRef
from realtime.connection import CloseCode, Connection, LatestSlot, Outgoing, text_frame
from tests.support import Socket, until

ASHA = UserRef(id=1, name="Asha")
WITHIN = 5.0


def frame(n: int) -> Outgoing:
    text = json.dumps({"type": "message", "seq": n})
    return Outgoing(text, str(n), "message", text_frame(text))


def connection(limit: int = 100) -> tuple[Connection, Socket]:
    conn = Connection(ASHA, limit)
    conn.sink = socket = Socket()
    return conn, socket


def seqs(socket: Socket) -> list[int]:
    return [json.loads(t)["seq"] for t in socket.texts()]


async def test_a_frame_for_an_idle_writable_socket_is_written_at_once_without_queueing() -> None:
    conn, socket = connection()
    conn.offer(frame(1))
    conn.offer('{"type":"ack","seq":2}')  # a reply, framed when written
    assert socket.texts() == [frame(1).text, '{"type":"ack","seq":2}']
    assert conn.pending() == 0


def test_text_frames_carry_any_length() -> None:
    for n in (0, 125, 126, 65535, 65536, 70000):
        text = "x" * n
        sock = Socket()
        sock.write(text_frame(text))
        assert sock.texts() == [text]


async def test_a_backed_up_socket_queues_and_later_frames_never_overtake_the_queue() -> None:
    conn, socket = connection()
    conn.offer(frame(1))
    socket.pause()
    conn.offer(frame(2))
    conn.offer(frame(3))
    assert conn.pending() == 2
    # Writable again before the writer ran: the next frame must still wait its turn.
    socket.resume()
    conn.offer(frame(4))
    assert seqs(socket) == [1]
    pump = asyncio.create_task(conn.pump(socket))
    await until(lambda: conn.pending() == 0)
    conn.offer(frame(5))
    assert seqs(socket) == [1, 2, 3, 4, 5]
    # What queued went out in one write.
    assert len(socket.writes) == 3
    conn.close(CloseCode.normal)
    await asyncio.wait_for(pump, WITHIN)


async def test_the_writer_waits_while_the_socket_is_backed_up_then_writes_in_order() -> None:
    conn, socket = connection()
    pump = asyncio.create_task(conn.pump(socket))
    socket.pause()
    for n in range(1, 4):
        conn.offer(frame(n))
    await asyncio.sleep(0.01)
    assert socket.writes == []  # nothing is written into a backed-up socket
    socket.resume()
    await until(lambda: conn.pending() == 0)
    for n in range(4, 7):
        conn.offer(frame(n))
    assert seqs(socket) == [1, 2, 3, 4, 5, 6]
    conn.close(CloseCode.normal)
    await asyncio.wait_for(pump, WITHIN)


async def test_a_socket_backed_up_past_the_outbox_bound_is_closed_with_4008() -> None:
    conn, socket = connection(limit=4)
    pump = asyncio.create_task(conn.pump(socket))
    socket.pause()
    for n in range(1, 10):
        conn.offer(frame(n))
    assert conn.close_code is CloseCode.too_slow
    # The writer ends without writing what the client could not keep up with.
    socket.resume()
    await asyncio.wait_for(pump, WITHIN)
    assert socket.writes == []


async def test_frames_queued_before_a_normal_close_are_still_written() -> None:
    conn, socket = connection()
    socket.pause()
    conn.offer(frame(1))
    conn.offer('{"type":"error","code":"unauthorized"}')
    conn.close(CloseCode.unauthorized)
    socket.resume()
    await asyncio.wait_for(conn.pump(socket), WITHIN)
    assert socket.texts() == [frame(1).text, '{"type":"error","code":"unauthorized"}']


async def test_a_keep_latest_snapshot_queued_while_backed_up_is_replaced_not_added() -> None:
    conn, socket = connection()
    slot = LatestSlot()
    socket.pause()
    conn.offer_latest(slot, frame(1))
    conn.offer_latest(slot, frame(2))
    conn.offer(frame(3))
    # Writable again, but a snapshot is queued: the newer one replaces it in place.
    socket.resume()
    conn.offer_latest(slot, frame(4))
    assert conn.pending() == 2
    pump = asyncio.create_task(conn.pump(socket))
    await until(lambda: conn.pending() == 0)
    assert seqs(socket) == [4, 3]
    conn.close(CloseCode.normal)
    await asyncio.wait_for(pump, WITHIN)


async def test_a_refused_droppable_frame_is_replayed_only_after_what_was_queued() -> None:
    conn, socket = connection(limit=2)
    drained: list[list[int]] = []
    conn.on_drained = lambda: drained.append(seqs(socket))
    socket.pause()
    assert conn.offer_droppable(frame(1))
    assert conn.offer_droppable(frame(2))
    assert not conn.offer_droppable(frame(3))  # full: the caller replays it later
    socket.resume()
    pump = asyncio.create_task(conn.pump(socket))
    await until(lambda: bool(drained))
    # The replay is set going once 1 and 2 are on the wire, never before.
    assert drained == [[1, 2]]
    await conn.put(frame(3))
    assert seqs(socket) == [1, 2, 3]
    conn.close(CloseCode.normal)
    await asyncio.wait_for(pump, WITHIN)


async def test_a_client_gone_ends_the_writer_at_once_and_drops_what_was_queued() -> None:
    conn, socket = connection()
    socket.pause()
    conn.offer(frame(1))
    writer = asyncio.create_task(conn.pump(socket))
    await asyncio.sleep(0)  # the writer waits for the socket
    conn.gone()
    socket.resume()  # what a lost transport does to its waiting writers
    await asyncio.wait_for(writer, WITHIN)
    assert conn.close_code is CloseCode.normal
    assert conn.pending() == 0
    assert socket.texts() == []


async def test_gone_after_a_close_keeps_what_explains_the_close() -> None:
    conn, socket = connection()
    socket.pause()
    conn.offer(frame(1))  # say, the `error` before a 4001
    conn.close(CloseCode.unauthorized)
    conn.gone()
    assert conn.close_code is CloseCode.unauthorized
    assert conn.pending() == 1


async def test_wait_closed_wakes_every_waiter_with_the_code() -> None:
    conn, _ = connection()
    waiters = [asyncio.create_task(conn.wait_closed()) for _ in range(2)]
    await asyncio.sleep(0)
    conn.close(CloseCode.too_slow)
    assert await asyncio.wait_for(asyncio.gather(*waiters), WITHIN) == [CloseCode.too_slow] * 2
    assert await conn.wait_closed() is CloseCode.too_slow  # closed: returns at once
