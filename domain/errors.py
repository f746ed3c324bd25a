"""Domain errors. Each carries one of PROTOCOL.md's error codes.

Transports map them in exactly one place each: rest/errors.py (HTTP status + error schema)
and realtime/ws_session.py (an `error` frame). Domain code raises; it never formats a response.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    bad_request = "bad_request"  # REST only: a request body that cannot be parsed at all
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


class DomainError(Exception):
    """A refusal the client can understand: a code, a human message, optional details."""

    code: ErrorCode = ErrorCode.internal
    # Seconds after which the same request may succeed; set by refusals that know it
    # (admission control, domain/admission.py). Sent as `retry_after` / `Retry-After`.
    retry_after: int | None = None

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Invalid(DomainError):
    code = ErrorCode.invalid


class Unauthorized(DomainError):
    code = ErrorCode.unauthorized


class Forbidden(DomainError):
    code = ErrorCode.forbidden


class NotFound(DomainError):
    code = ErrorCode.not_found


class Conflict(DomainError):
    code = ErrorCode.conflict


class TooLarge(DomainError):
    code = ErrorCode.too_large


class RateLimited(DomainError):
    code = ErrorCode.rate_limited


class Unavailable(DomainError):
    """A dependency (PostgreSQL, Redis) is down. Nothing was stored."""

    code = ErrorCode.unavailable
