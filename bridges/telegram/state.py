"""What the bridge must remember across restarts, in a local SQLite file (stdlib sqlite3,
run in a worker thread so the event loop never blocks on disk).

- `chats`: a Telegram user's current bot conversation, the chat answers go to, and the
  last durable `seq` already delivered there (the bridge resubscribes from it, so an
  answer that completed while it was down is delivered once, and nothing twice).
- `streams`: the Telegram messages an answer is being edited into, so a restarted bridge
  keeps editing them instead of posting a second copy.

The bridge is the only writer; a write is committed before the call returns.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chats (
    external_id TEXT PRIMARY KEY,
    room_id INTEGER,
    chat_id INTEGER,
    delivered_seq INTEGER
);
CREATE TABLE IF NOT EXISTS streams (
    stream TEXT PRIMARY KEY,
    chat_id INTEGER NOT NULL,
    message_ids TEXT NOT NULL
);
"""


@dataclass
class ChatState:
    external_id: str
    room_id: int | None
    chat_id: int | None
    delivered_seq: int | None


class BridgeState:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        self._lock = asyncio.Lock()

    async def _run(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        async with self._lock:
            return await asyncio.to_thread(lambda: self._db.execute(sql, args).fetchall())

    async def chat(self, external_id: str) -> ChatState:
        rows = await self._run(
            "SELECT room_id, chat_id, delivered_seq FROM chats WHERE external_id = ?", external_id
        )
        if not rows:
            return ChatState(external_id, None, None, None)
        room_id, chat_id, seq = rows[0]
        return ChatState(external_id, _int(room_id), _int(chat_id), _int(seq))

    async def save_chat(self, state: ChatState) -> None:
        await self._run(
            "INSERT INTO chats (external_id, room_id, chat_id, delivered_seq) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (external_id) DO UPDATE SET room_id = excluded.room_id,"
            " chat_id = excluded.chat_id, delivered_seq = excluded.delivered_seq",
            state.external_id,
            state.room_id,
            state.chat_id,
            state.delivered_seq,
        )

    async def followed(self) -> list[str]:
        """The users who have a current conversation (to resume after a restart)."""
        rows = await self._run("SELECT external_id FROM chats WHERE room_id IS NOT NULL")
        return [str(row[0]) for row in rows]

    async def forget_chat(self, external_id: str) -> None:
        await self._run("DELETE FROM chats WHERE external_id = ?", external_id)

    async def delivered(self, external_id: str, seq: int) -> None:
        """Record that durable messages up to `seq` reached Telegram (never moves back)."""
        await self._run(
            "UPDATE chats SET delivered_seq = max(coalesce(delivered_seq, 0), ?)"
            " WHERE external_id = ?",
            seq,
            external_id,
        )

    async def stream_messages(self, stream: str) -> list[int]:
        rows = await self._run("SELECT message_ids FROM streams WHERE stream = ?", stream)
        return [int(x) for x in json.loads(str(rows[0][0]))] if rows else []

    async def save_stream(self, stream: str, chat_id: int, message_ids: list[int]) -> None:
        await self._run(
            "INSERT INTO streams (stream, chat_id, message_ids) VALUES (?, ?, ?)"
            " ON CONFLICT (stream) DO UPDATE SET message_ids = excluded.message_ids",
            stream,
            chat_id,
            json.dumps(message_ids),
        )

    async def forget_stream(self, stream: str) -> None:
        await self._run("DELETE FROM streams WHERE stream = ?", stream)

    def close(self) -> None:
        self._db.close()


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int) else None
