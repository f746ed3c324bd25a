"""The client's exceptions, and which protocol error codes it retries by itself.

Every refusal the server sends is an `error` frame with a code (PROTOCOL.md, "Errors and
closing"); the client turns it into `ProtocolError` carrying that code, so callers match on
`exc.code` instead of parsing messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class ErrorCode(StrEnum):
    """The protocol's error codes. Unknown codes from a newer server stay plain strings."""

    bad_frame = "bad_frame"
    unknown_type = "unknown_type"
    invalid = "invalid"
    unauthorized = "unauthorized"
    forbidden = "forbidden"
    not_found = "not_found"
    too_large = "too_large"
    rate_limited = "rate_limited"
    conflict = "conflict"
    unavailable = "unavailable"
    internal = "internal"


# Retried with backoff for `send` and `subscribe`: both mean "nothing happened, try again"
# (unavailable: a dependency is down and nothing was stored; rate_limited: the frame was
# dropped). A send is idempotent through its client_id, so a retry can never store twice.
# Everything else is an answer about the request itself and is raised to the caller;
# `internal` included, since repeating a request that hit a server bug rarely helps.
RETRYABLE: frozenset[str] = frozenset({ErrorCode.unavailable, ErrorCode.rate_limited})
# A server's retry-after hint is honoured up to this many seconds: a bogus huge one must
# not park a send for hours.
MAX_RETRY_AFTER = 60.0


class ParleyError(Exception):
    """Base class of everything this package raises on purpose."""


class ProtocolError(ParleyError):
    """The server answered a request with an `error` frame.

    `code` is one of `ErrorCode` (or a newer code as a plain string); `details` is the
    frame's optional structured detail, as JSON.
    """

    def __init__(
        self, code: str, message: str, details: object = None, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details
        # The server's hint (seconds) of when the same request may succeed: an overloaded
        # worker's `unavailable` carries one (docs/protocol.md §5). None when absent.
        self.retry_after = retry_after

    @classmethod
    def from_frame(cls, frame: Mapping[str, object]) -> ProtocolError:
        """From an `error` frame (or a REST error body's `error` object)."""
        return cls(
            str(frame.get("code")),
            str(frame.get("message")),
            frame.get("details"),
            _hint(frame.get("retry_after")),
        )

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE


def _hint(value: object) -> float | None:
    """A usable retry-after hint in seconds (capped), or None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return None
    return min(float(value), MAX_RETRY_AFTER)


class ConnectionLost(ParleyError):
    """The connection dropped before a one-shot request (ping, cancel, answer, ...) was
    answered. The client reconnects by itself; whether to repeat the request is the
    caller's call, because these requests are not idempotent."""


class AuthenticationFailed(ParleyError):
    """Credentials were rejected for good: a fresh token was refused, or the token source
    cannot produce one (a revoked refresh token and no password). Fatal to the client."""


class ClientClosed(ParleyError):
    """The client was closed (or failed fatally) while the operation was pending."""
