"""The one place domain errors (and framework errors) become HTTP responses.

Every error has the same body: {"error": {"code", "message", "details"}} with a code from
PROTOCOL.md. Unexpected exceptions become 500 `internal` with no trace in the response;
a database or Redis outage becomes 503 `unavailable`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import DomainError, ErrorCode

log = logging.getLogger("parley.rest")

STATUS: dict[ErrorCode, int] = {
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
_BY_STATUS = {status: code for code, status in STATUS.items()}


class ErrorBody(BaseModel):
    code: ErrorCode
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorBody


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the error schema."""
    return {code: {"model": ErrorResponse} for code in codes}


def _respond(code: ErrorCode, message: str, details: Any = None) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details))
    headers = {"WWW-Authenticate": "Bearer"} if code is ErrorCode.unauthorized else None
    return JSONResponse(body.model_dump(mode="json"), status_code=STATUS[code], headers=headers)


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return _respond(exc.code, exc.message, exc.details)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"field": ".".join(str(p) for p in err["loc"]), "problem": err["msg"]}
        for err in exc.errors()
    ]
    return _respond(ErrorCode.invalid, "The request is not valid.", details)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _BY_STATUS.get(exc.status_code)
    if code is None:
        code = ErrorCode.invalid if exc.status_code < 500 else ErrorCode.internal
    if exc.status_code == 405:
        code = ErrorCode.invalid  # the resource exists; this method is not one it has
    message = exc.detail if isinstance(exc.detail, str) else code.value
    response = _respond(code, message)
    response.status_code = exc.status_code
    return response


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.warning("dependency unavailable", extra={"error": type(exc).__name__})
    return _respond(ErrorCode.unavailable, "A backing service is unavailable; nothing was stored.")


async def _dbapi_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if exc.connection_invalidated:
        return await _unavailable(request, exc)
    return await _internal(request, exc)


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "unhandled error",
        exc_info=exc,
        extra={"path": request.url.path, "method": request.method},
    )
    return _respond(ErrorCode.internal, "Something went wrong on our side.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for exc_type in (
        OperationalError,
        ConnectionError,  # asyncpg and redis-py raise its subclasses when a server is gone
        RedisConnectionError,
        RedisTimeoutError,
        PoolTimeoutError,
    ):
        app.add_exception_handler(exc_type, _unavailable)
    app.add_exception_handler(DBAPIError, _dbapi_error)
    app.add_exception_handler(Exception, _internal)
