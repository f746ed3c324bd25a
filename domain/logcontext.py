"""The ids every log line of a request or connection carries (app/logs.py reads them).

Context variables: set once where a request or connection starts, inherited by every task
it spawns, gone when it ends. They hold opaque ids only, never who or what.
"""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("parley_request_id", default=None)
connection_id: ContextVar[str | None] = ContextVar("parley_connection_id", default=None)
