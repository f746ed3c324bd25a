"""What the bridge must remember across restarts, in a local SQLite file (stdlib sqlite3,
run in a worker thread so the event loop never blocks on disk).

- `chats`: a Telegram user's current bot conversation, the chat answers go to, and the
  last durable `seq` already delivered there (the bridge resubscribes from it, so an
  answer that completed while it was down is delivered once, and nothing twice).
- `streams`: the Telegram messages an answer is being edited into, so a restarted bridge
  keeps editing them instead of posting a second copy.
- `groups`: a Telegram group chat bound to a Parley study group, whose linked member
  (`reader`) the bridge reads the room as, and the last room `seq` relayed to Telegram.
- `relayed`: which Telegram message each relayed Parley message is (both directions).
- `posts`: messages the bridge keeps editing or must not post twice (a quiz question, its
  reveal, a group's live leaderboard), by a key such as `board:7` or `question:5:0`.

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
    message_ids TEXT NOT NULL,
    reply_to INTEGER
);
CREATE TABLE IF NOT EXISTS groups (
    chat_id INTEGER PRIMARY KEY,
    room_id INTEGER NOT NULL UNIQUE,
    reader TEXT NOT NULL,
    delivered_seq INTEGER NOT NULL DEFAULT 0,
    quiz_session INTEGER
);
CREATE TABLE IF NOT EXISTS relayed (
    room_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    chat_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    PRIMARY KEY (room_id, seq)
);
CREATE TABLE IF NOT EXISTS posts (
    key TEXT PRIMARY KEY,
    chat_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    text TEXT
);
"""


@dataclass
class Binding:
    """A Telegram group chat relayed to and from a Parley study group."""

    chat_id: int
    room_id: int
    reader: str  # the external id of the linked owner/admin who bound it
    delivered_seq: int = 0
    quiz_session: int | None = None


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
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(streams)")}
        if "reply_to" not in columns:  # a state file from before the column existed
            self._db.execute("ALTER TABLE streams ADD COLUMN reply_to INTEGER")
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

    async def save_stream(
        self, stream: str, chat_id: int, message_ids: list[int], reply_to: int | None = None
    ) -> None:
        await self._run(
            "INSERT INTO streams (stream, chat_id, message_ids, reply_to) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (stream) DO UPDATE SET message_ids = excluded.message_ids",
            stream,
            chat_id,
            json.dumps(message_ids),
            reply_to,
        )

    async def stream_answering(self, chat_id: int, reply_to: int) -> str | None:
        """The stored stream that answers `reply_to` in `chat_id` (its messages exist)."""
        rows = await self._run(
            "SELECT stream FROM streams WHERE chat_id = ? AND reply_to = ?", chat_id, reply_to
        )
        return str(rows[0][0]) if rows else None

    async def forget_stream(self, stream: str) -> None:
        await self._run("DELETE FROM streams WHERE stream = ?", stream)

    async def bind(self, binding: Binding) -> None:
        """Bind (or rebind) a chat; a room is bound to one chat at most (the last)."""
        async with self._lock:
            await asyncio.to_thread(self._bind, binding)

    def _bind(self, b: Binding) -> None:
        with self._db:  # one transaction
            self._db.execute("BEGIN")
            self._db.execute(
                "DELETE FROM groups WHERE room_id = ? OR chat_id = ?", (b.room_id, b.chat_id)
            )
            self._db.execute(
                "INSERT INTO groups (chat_id, room_id, reader, delivered_seq, quiz_session)"
                " VALUES (?, ?, ?, ?, ?)",
                (b.chat_id, b.room_id, b.reader, b.delivered_seq, b.quiz_session),
            )

    async def bindings(self) -> list[Binding]:
        rows = await self._run(
            "SELECT chat_id, room_id, reader, delivered_seq, quiz_session FROM groups"
        )
        return [
            Binding(int(str(c)), int(str(r)), str(who), int(str(seq)), _int(quiz))
            for c, r, who, seq, quiz in rows
        ]

    async def unbind(self, chat_id: int) -> None:
        await self._run("DELETE FROM groups WHERE chat_id = ?", chat_id)

    async def group_delivered(self, chat_id: int, seq: int) -> None:
        await self._run(
            "UPDATE groups SET delivered_seq = max(delivered_seq, ?) WHERE chat_id = ?",
            seq,
            chat_id,
        )

    async def follow_quiz(self, chat_id: int, session_id: int | None) -> None:
        await self._run("UPDATE groups SET quiz_session = ? WHERE chat_id = ?", session_id, chat_id)

    async def relay(self, room_id: int, seq: int, chat_id: int, message_id: int) -> None:
        await self._run(
            "INSERT OR IGNORE INTO relayed (room_id, seq, chat_id, message_id) VALUES (?, ?, ?, ?)",
            room_id,
            seq,
            chat_id,
            message_id,
        )

    async def relayed_message(self, room_id: int, seq: int) -> int | None:
        rows = await self._run(
            "SELECT message_id FROM relayed WHERE room_id = ? AND seq = ?", room_id, seq
        )
        return _int(rows[0][0]) if rows else None

    async def post(self, key: str) -> int | None:
        rows = await self._run("SELECT message_id FROM posts WHERE key = ?", key)
        return _int(rows[0][0]) if rows else None

    async def post_text(self, key: str) -> str | None:
        """The text a kept-current post was last given (None: unknown)."""
        rows = await self._run("SELECT text FROM posts WHERE key = ?", key)
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    async def save_post(
        self, key: str, chat_id: int, message_id: int, text: str | None = None
    ) -> None:
        await self._run(
            "INSERT INTO posts (key, chat_id, message_id, text) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET message_id = excluded.message_id,"
            " text = excluded.text",
            key,
            chat_id,
            message_id,
            text,
        )

    async def post_edited(self, key: str, text: str) -> None:
        await self._run("UPDATE posts SET text = ? WHERE key = ?", text, key)

    def close(self) -> None:
        self._db.close()


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int) else None
