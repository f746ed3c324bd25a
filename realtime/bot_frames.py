"""The symptom bot's client frames (PROTOCOL.md v1.1, "Bot conversations").

`cancel` stops an answer in flight, from any of the owner's connections on any worker: the
bot service checks ownership and tells the generating worker through the broker
(domain/bot). Registered with the session's frame registry on import (realtime/ws.py).
"""

from __future__ import annotations

from realtime.client_frames import CancelFrame
from realtime.server_frames import CancelledFrame
from realtime.ws_session import WsSession, handles


@handles(CancelFrame)
async def cancel(session: WsSession, frame: CancelFrame) -> None:
    room_id = session.room_of(frame.channel)
    await session.services.bot.cancel(session.conn.user.id, room_id, frame.stream)
    session.reply(CancelledFrame(ref=frame.ref, channel=frame.channel, stream=frame.stream))
