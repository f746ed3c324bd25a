"""Assertions shared by the REST specifications: the one error schema of PROTOCOL.md."""

from __future__ import annotations

from typing import Any

import httpx

ERROR_CODES = frozenset(
    {
        "bad_request",
        "bad_frame",
        "unknown_type",
        "invalid",
        "unauthorized",
        "forbidden",
        "not_found",
        "too_large",
        "rate_limited",
        "conflict",
        "unavailable",
        "internal",
    }
)


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert `response` is a PROTOCOL.md error with this status and code; its `error` object.

    Every REST error is exactly {"error": {"code", "message", "details"}}, with a code from
    the protocol's list, a human message, and no server internals.
    """
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    assert "Traceback" not in response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] in ERROR_CODES, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    if code == "unauthorized":
        assert response.headers.get("www-authenticate", "").startswith("Bearer"), response.headers
    return error
