"""The one place domain errors (and framework errors) become HTTP responses, for every
HTTP endpoint: REST routes and the SSE streams alike.

Every error has the same body: {"error": {"code", "message", "details"}} with a code from
PROTOCOL.md (plus the REST-only `bad_request`). Any other exception goes through
`domain.failures.classify()`, the one classifier of infrastructure failures: an outage is
503 `unavailable` with `Retry-After`, a value the database refused is 422 `invalid`, and
anything else is 500 `internal`, logged with its traceback and never shown to the client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import DomainError, ErrorCode
from domain.failures import INFRASTRUCTURE_ERRORS, RETRY_AFTER_SECONDS, classify

log = logging.getLogger("parley.rest")

STATUS: dict[ErrorCode, int] = {
    ErrorCode.bad_request: 400,
    ErrorCode.bad_frame: 400,
    ErrorCode.unknown_type: 400,
    ErrorCode.invalid: 422,
    ErrorCode.unauthorized: 401,
    ErrorCode.forbidden: 403,
    ErrorCode.not_found: 404,
    ErrorCode.too_large: 413,
    ErrorCode.rate_limited: 429,
    ErrorCode.conflict: 409,
    ErrorCode.unavailable: 503,
    ErrorCode.internal: 500,
}
# HTTP errors raised by the framework (routing, body parsing) and the code each one gets.
# bad_frame and unknown_type are WebSocket frame codes: REST never answers with them.
_BY_STATUS = {
    400: ErrorCode.bad_request,
    401: ErrorCode.unauthorized,
    403: ErrorCode.forbidden,
    404: ErrorCode.not_found,
    405: ErrorCode.invalid,  # the resource exists; this method is not one it has
    409: ErrorCode.conflict,
    413: ErrorCode.too_large,
    429: ErrorCode.rate_limited,
    503: ErrorCode.unavailable,
}
# pydantic's error type for a body that is not JSON at all (FastAPI reports it as a
# validation error; it is a parse error).
_UNPARSEABLE = frozenset({"json_invalid"})


class ErrorBody(BaseModel):
    code: ErrorCode
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorBody


_DESCRIPTIONS = {
    400: "`bad_request`: the body cannot be parsed (not JSON, not UTF-8, a broken form).",
    401: "`unauthorized`: no, bad, expired, revoked or over-long bearer token.",
    403: "`forbidden`: not allowed for this caller.",
    404: "`not_found`: no such resource (or not visible to the caller).",
    405: "`invalid`: the path exists but not with this method (see `Allow`).",
    409: "`conflict`: the state of the resource does not allow this.",
    413: "`too_large`: a value is over its documented limit.",
    422: "`invalid`: a parameter or field is missing, malformed or out of range.",
    429: "`rate_limited`: slow down.",
    503: "`unavailable`: PostgreSQL or Redis is down, or the server is overloaded (admission "
    "control); nothing was stored. Retry after `Retry-After` seconds.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the error schema.

    Every operation can answer 422 (its parameters are validated) and 503 (it needs
    PostgreSQL or Redis), so those two are always declared.
    """
    statuses = sorted({*codes, 422, 503})
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]}
        for status in statuses
    }


def _respond(
    code: ErrorCode,
    message: str,
    details: Any = None,
    *,
    status: int | None = None,
    retry_after: int | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details))
    headers: dict[str, str] = {}
    if code is ErrorCode.unauthorized:
        headers["WWW-Authenticate"] = "Bearer"
    if code is ErrorCode.unavailable:
        headers["Retry-After"] = str(retry_after or RETRY_AFTER_SECONDS)
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status or STATUS[code], headers=headers
    )


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return _respond(exc.code, exc.message, exc.details, retry_after=exc.retry_after)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(err.get("type") in _UNPARSEABLE for err in errors):
        return _respond(ErrorCode.bad_request, "The request body is not valid JSON.")
    details = [
        {"field": ".".join(str(p) for p in err["loc"]), "problem": err["msg"]} for err in errors
    ]
    return _respond(ErrorCode.invalid, "The request is not valid.", details)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _BY_STATUS.get(exc.status_code)
    if code is None:
        code = ErrorCode.invalid if exc.status_code < 500 else ErrorCode.internal
    message = exc.detail if isinstance(exc.detail, str) else code.value
    response = _respond(code, message, status=exc.status_code)
    for name, value in (exc.headers or {}).items():  # Allow on 405, say
        response.headers.setdefault(name, value)
    return response


async def _any_error(request: Request, exc: Exception) -> JSONResponse:
    known = classify(exc)
    if known is None:
        log.error(
            "unhandled error",
            exc_info=exc,
            extra={"path": request.url.path, "method": request.method},
        )
        return _respond(ErrorCode.internal, "Something went wrong on our side.")
    if known.code is ErrorCode.unavailable:
        log.warning(
            "dependency unavailable",
            extra={"path": request.url.path, "error": type(exc).__name__},
        )
    # The classifier's message, never the exception's: that one can name hosts and SQL.
    return _respond(known.code, known.message, known.details)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # The infrastructure failures classify() knows, registered by type so they are answered
    # inside the app (a handler for Exception alone runs in the outermost middleware, which
    # re-raises after answering: every outage would be logged as a crash).
    for exc_type in INFRASTRUCTURE_ERRORS:
        app.add_exception_handler(exc_type, _any_error)
    app.add_exception_handler(Exception, _any_error)
