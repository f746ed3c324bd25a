"""The python-socketio peer `make bench` measures Parley against (started by bench/peers.py):

    PEER_REDIS_URL=... PEER_KEY=... uvicorn bench.peers.socketio_py:app --workers N

The same events as the Node peer (bench/peers/socketio_node.js), all acknowledged: `join`
(channel) -> {node}; `send` ({channel, seq, body}) -> {seq} after emitting `message`
{type, channel, seq, body} to the room. Rooms span the workers through AsyncRedisManager.
Nothing is stored and nothing orders sends across publishers: it is the fan-out alone.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import socketio  # type: ignore[import-untyped]

NODE = f"{socket.gethostname()}-{os.getpid()}-py"

sio = socketio.AsyncServer(
    async_mode="asgi",
    transports=["websocket"],
    client_manager=socketio.AsyncRedisManager(
        os.environ.get("PEER_REDIS_URL", "redis://127.0.0.1:6379/0"),
        channel=os.environ.get("PEER_KEY", "bench-socketio"),
    ),
    cors_allowed_origins="*",
)


@sio.on("join")  # type: ignore[untyped-decorator]
async def join(sid: str, channel: str) -> dict[str, str]:
    await sio.enter_room(sid, channel)
    return {"node": NODE}


@sio.on("send")  # type: ignore[untyped-decorator]
async def send(sid: str, m: dict[str, Any]) -> dict[str, Any]:
    message = {"type": "message", "channel": m["channel"], "seq": m["seq"], "body": m["body"]}
    await sio.emit("message", message, room=m["channel"])
    return {"seq": m["seq"]}


async def _ready(scope: dict[str, Any], receive: Any, send: Any) -> None:
    status = 200 if scope.get("path") == "/readyz" else 404
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b""})


app = socketio.ASGIApp(sio, other_asgi_app=_ready)
