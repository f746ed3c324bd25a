"""The one place that decides what an infrastructure exception means to a client.

Transports (rest/errors.py, realtime/ws_session.py) call `classify()` on any exception that
is not already a `DomainError`, and answer with the code it returns. The rules:

- a dependency that is down, overloaded, restarting or timing out is `unavailable`
  (HTTP 503 with Retry-After; an `error` frame on WebSocket): retry later, nothing stored;
- a transient transaction conflict (serialization failure, deadlock) is `unavailable` too:
  the statement was rolled back and the same request may simply be retried;
- a value the database refused (out of range, invalid text, a violated check) is `invalid`:
  the edge should have refused it first, but a client must never see a 500 for its input;
- anything else is `internal` (a bug: logged with its traceback, never shown to a client).

PostgreSQL errors are classified by SQLSTATE (Appendix A of its manual), which asyncpg
exposes and SQLAlchemy carries on `DBAPIError.orig.sqlstate`; a connection the pool had to
invalidate is an outage whatever its state.
"""

from __future__ import annotations

from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from domain.errors import DomainError, Invalid, Unavailable

# SQLSTATE classes and codes, from PostgreSQL's Appendix A.
_OUTAGE_CLASSES = (
    "08",  # connection exception
    "53",  # insufficient resources (too many connections, disk full, out of memory)
    "57",  # operator intervention (admin shutdown, crash shutdown, cannot connect now)
    "58",  # system error (I/O error)
)
_RETRYABLE_STATES = (
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available
)
_DATA_CLASSES = (
    "22",  # data exception (numeric out of range, invalid text, NUL in text)
    "23",  # integrity constraint violation not mapped by the domain (a CHECK, say)
)

RETRY_AFTER_SECONDS = 2
# The exception types `classify` may answer as something other than a bug. A transport that
# registers handlers by type (edge/errors.py) takes this tuple; it never lists them itself.
INFRASTRUCTURE_ERRORS: tuple[type[Exception], ...] = (
    DBAPIError,
    PoolTimeoutError,
    RedisError,
    OSError,  # ConnectionError and TimeoutError are OSErrors
)


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error, if it carries one."""
    if isinstance(exc, DBAPIError):
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return state if isinstance(state, str) else None
    state = getattr(exc, "sqlstate", None)
    return state if isinstance(state, str) else None


def classify(exc: BaseException) -> DomainError | None:
    """The client-facing error for an infrastructure exception, or None for a bug.

    Never raises. A `DomainError` is returned as it is.
    """
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return Unavailable("The database is unavailable; nothing was stored.")
    state = sqlstate(exc)
    if state is not None:
        if state.startswith(_OUTAGE_CLASSES) or state in _RETRYABLE_STATES:
            return Unavailable("The database is unavailable; nothing was stored.")
        if state.startswith(_DATA_CLASSES):
            return Invalid("A value is out of range or not valid text.")
        return None
    if isinstance(exc, RedisError | PoolTimeoutError | ConnectionError | TimeoutError):
        return Unavailable("A backing service is unavailable; nothing was stored.")
    if isinstance(exc, OSError):
        # asyncpg raises bare OSErrors (ECONNREFUSED) while connecting.
        return Unavailable("A backing service is unavailable; nothing was stored.")
    if isinstance(exc, DBAPIError) and _is_connect_failure(exc):
        return Unavailable("The database is unavailable; nothing was stored.")
    return None


def _is_connect_failure(exc: DBAPIError) -> bool:
    """asyncpg's connection failures without a SQLSTATE (refused, reset, closed)."""
    orig = exc.orig
    cause = getattr(orig, "__cause__", None) or orig
    return (
        isinstance(cause, OSError | ConnectionError)
        or type(cause).__name__ == "ConnectionDoesNotExistError"
    )
