"""The WebSocket write path alone, before/after 0017, in CPU time (robust on a busy machine):

    .venv/bin/python -m bench.writepath [--connections 1000] [--frames 200] [--per-turn 1]

One uvicorn server in this process (Parley's WebSocket protocol, uvloop) with a bare ASGI
endpoint; --connections clients in a child process read and count. The server sends
--frames frames (a 300-byte chat message) to every connection, two ways:

- `asgi`: what Parley did before 0017 — per connection a send task woken per frame
  through an asyncio queue, each frame through the ASGI `send` (encode, websockets
  framing, one `transport.write` per frame);
- `frames`: 0017 — the frame built once, its bytes written straight to each writable
  transport by the loop that fans out (`Connection.offer` with the `parley.frames` sink).

Reports this process's CPU time (user+sys) per delivered frame for each, interleaved.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import resource
from typing import Any

import uvicorn
import uvloop

from app.ws_protocol import EXTENSION
from bench.loadgen import raise_nofile
from bench.server import free_port
from bench.wsclient import connect
from domain.events import UserRef
from realtime.connection import Connection, Outgoing, text_frame

TEXT = '{"type":"message","channel":"room:1","seq":1,"body":"' + "x" * 240 + '"}'
USER = UserRef(id=1, name="bench")


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _clients(port: int, count: int, ready: Any, totals: Any) -> None:
    async def main() -> None:
        got = [0]

        def on(payload: bytes, now: int) -> bool:
            got[0] += 1
            return True

        clients = []
        for _ in range(count):
            c = await connect("127.0.0.1", port, "/")
            c.fast = on
            clients.append(c)
        ready.set()
        while True:
            totals.value = got[0]
            await asyncio.sleep(0.05)

    raise_nofile()
    uvloop.run(main())


class Endpoint:
    def __init__(self) -> None:
        self.sockets: list[tuple[Any, Connection, asyncio.Queue[str | None]]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        conn = Connection(USER, 10_000)
        conn.sink = scope["extensions"][EXTENSION]["writer"]
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.sockets.append((send, conn, queue))
        # The "before" sender: one task per connection, woken per frame.
        while (text := await queue.get()) is not None:
            await send({"type": "websocket.send", "text": text})


async def run(args: argparse.Namespace) -> None:
    port = free_port()
    endpoint = Endpoint()
    config = uvicorn.Config(
        endpoint,
        host="127.0.0.1",
        port=port,
        ws="app.ws_protocol:ParleyWebSocketProtocol",
        lifespan="off",
        log_level="warning",
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn has no event for it
        await asyncio.sleep(0.01)
    ctx = mp.get_context("spawn")
    ready, totals = ctx.Event(), ctx.Value("q", 0)
    proc = ctx.Process(target=_clients, args=(port, args.connections, ready, totals))
    proc.start()
    try:
        while not ready.is_set():  # noqa: ASYNC110 - a multiprocessing event
            await asyncio.sleep(0.05)
        while len(endpoint.sockets) < args.connections:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        results: dict[str, list[float]] = {"asgi": [], "frames": []}
        for _ in range(args.rounds):
            for way in ("asgi", "frames"):
                base = totals.value
                expect = base + args.connections * args.frames
                t0 = cpu()
                for i in range(args.frames):
                    if way == "asgi":
                        for _, _, queue in endpoint.sockets:
                            queue.put_nowait(TEXT)
                    else:
                        out = Outgoing(TEXT, "1", "message", text_frame(TEXT))
                        for _, conn, _ in endpoint.sockets:
                            conn.offer(out)
                    if (i + 1) % args.per_turn == 0:
                        await asyncio.sleep(0)  # --per-turn events per loop turn
                while totals.value < expect:  # noqa: ASYNC110 - counted in the child
                    await asyncio.sleep(0.01)
                used = cpu() - t0
                results[way].append(used / (args.connections * args.frames) * 1e6)
        for way, values in results.items():
            print(f"{way:6s} server CPU µs per delivery: " + ", ".join(f"{v:.1f}" for v in values))
        a, f = min(results["asgi"]), min(results["frames"])
        print(f"best: asgi {a:.1f} µs, frames {f:.1f} µs; frames/asgi = {f / a:.2f}")
    finally:
        proc.terminate()
        proc.join(5)
        for _, _, queue in endpoint.sockets:
            queue.put_nowait(None)
        server.should_exit = True
        await asyncio.wait_for(task, 15)


def main() -> None:
    p = argparse.ArgumentParser(prog="bench.writepath", description=__doc__.split("\n")[0])
    p.add_argument("--connections", type=int, default=1000)
    p.add_argument("--frames", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument(
        "--per-turn",
        type=int,
        default=1,
        help="events fanned out per turn of the event loop (2: a board and its rank; more: "
        "a burst read from Redis in one go)",
    )
    args = p.parse_args()
    raise_nofile()
    uvloop.run(run(args))


if __name__ == "__main__":
    main()
