"""REST keeps to its documented contract: its own codes, the right statuses, auth first.

- A body that cannot be parsed at all is 400 `bad_request` (a REST-only code), never a
  WebSocket frame code.
- A wrong method on an existing path is 405 with `Allow` and the error schema.
- A protected route authenticates before it validates: an anonymous or badly
  authenticated caller learns 401, never how its request would have been validated.
- Every status an operation can answer is declared in OpenAPI with the error schema.
"""

from __future__ import annotations

import pytest

from tests.rest.expect import error_of
from tests.support import Api


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"name": "Bio",', "application/json"),
        (b'{"name": "\xff\xfe"}', "application/json"),
        (b"not json at all", "application/json"),
    ],
    ids=["truncated", "not-utf8", "not-json"],
)
async def test_an_unparseable_body_is_400_bad_request(
    api: Api, content: bytes, content_type: str
) -> None:
    asha = await api.user("Asha")
    r = await api.http.post(
        "/api/v1/rooms", content=content, headers={**asha.headers, "Content-Type": content_type}
    )
    error_of(r, 400, "bad_request")


async def test_an_unparseable_registration_is_400_bad_request(api: Api) -> None:
    r = await api.http.post(
        "/api/v1/auth/register",
        content=b"\xc3\x28",
        headers={"Content-Type": "application/json"},
    )
    error_of(r, 400, "bad_request")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_a_wrong_method_on_join_is_405_with_allow(api: Api, method: str) -> None:
    asha = await api.user("Asha")
    r = await api.http.request(method, "/api/v1/rooms/join", headers=asha.headers)
    error_of(r, 405, "invalid")
    assert r.headers["allow"] == "POST", r.headers


@pytest.mark.parametrize(
    ("method", "path", "json"),
    [
        ("POST", "/api/v1/rooms", {"name": 42}),
        ("POST", "/api/v1/rooms/join", {}),
        ("GET", "/api/v1/rooms/2147483648", None),
        ("GET", "/api/v1/rooms/1/messages?limit=100000", None),
        ("POST", "/api/v1/rooms/1/messages", {"body": ""}),
        ("POST", "/api/v1/quizzes/1/attempts", {"answers": "all of them"}),
        ("POST", "/api/v1/auth/logout", {"refresh_token": 7}),
    ],
)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer not-a-token", "Basic YTpi"], ids=["none", "bad", "basic"]
)
async def test_a_protected_route_authenticates_before_it_validates(
    api: Api, method: str, path: str, json: object, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    r = await api.http.request(method, path, json=json, headers=headers)
    error_of(r, 401, "unauthorized")


async def test_a_protected_route_authenticates_before_it_parses_the_body(api: Api) -> None:
    r = await api.http.post(
        "/api/v1/rooms", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    error_of(r, 401, "unauthorized")


async def test_openapi_declares_every_error_status_with_the_error_schema(api: Api) -> None:
    spec = (await api.http.get("/openapi.json")).json()
    ref = "#/components/schemas/ErrorResponse"
    for path, item in spec["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in item.items():
            responses = op["responses"]
            needed = {"422", "503"}
            if op.get("requestBody"):
                needed |= {"400"}
            if op.get("security") or "{" in path or path.startswith("/api/v1/users"):
                needed |= {"401"}
            if path.endswith("/events"):
                needed -= {"400"}
            missing = needed - set(responses)
            assert not missing, (method, path, missing)
            for status in needed:
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": ref}, (method, path, status, schema)
            assert "ErrorBody" in spec["components"]["schemas"]
    codes = spec["components"]["schemas"]["ErrorCode"]["enum"]
    assert "bad_request" in codes
