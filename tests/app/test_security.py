"""app/security.py: a correctly signed token whose claims are out of shape is refused as
`unauthorized` (REST 401, WebSocket close 4001), never a server error.

Only the holder of the secret can sign such a token, so this is defence in depth: a bug in
an issuer (or a leaked secret) must not turn into 500s or closes with 1011.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from jose import jwt

from app.security import token_codec
from app.settings import Settings
from domain.errors import Unauthorized
from domain.security import TokenKind
from tests.rest.expect import error_of
from tests.support import Api, WsClient

OUT_OF_SHAPE_CLAIMS: dict[str, dict[str, Any]] = {
    "sub-2**31": {"sub": str(2**31)},
    "sub-2**63": {"sub": str(2**63)},
    "sub-huge": {"sub": "9" * 40},
    "sub-negative": {"sub": "-1"},
    "sub-zero": {"sub": "0"},
    "sub-not-a-number": {"sub": "asha"},
    "sub-padded": {"sub": " 7"},
    "sub-non-ascii-digits": {"sub": "\u0967"},
    "sub-empty": {"sub": ""},
    "jti-too-long": {"jti": "j" * 65},
    "jti-empty": {"jti": ""},
    "exp-beyond-any-date": {"exp": 10**20},
}


def _signed(settings: Settings, **overrides: Any) -> str:
    now = int(datetime.now(UTC).timestamp())
    claims: dict[str, Any] = {
        "sub": "1",
        "role": "student",
        "typ": "access",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return str(jwt.encode(claims, settings.jwt_secret(), algorithm=settings.jwt_algorithm))


@pytest.mark.parametrize("overrides", OUT_OF_SHAPE_CLAIMS.values(), ids=OUT_OF_SHAPE_CLAIMS)
def test_decode_refuses_out_of_shape_claims_as_unauthorized(
    settings: Settings, overrides: dict[str, Any]
) -> None:
    with pytest.raises(Unauthorized):
        token_codec(settings).decode(_signed(settings, **overrides))


def test_decode_accepts_the_largest_user_id(settings: Settings) -> None:
    codec = token_codec(settings)
    claims = codec.decode(codec.issue(2**31 - 1, "student", TokenKind.access))
    assert claims.user_id == 2**31 - 1


@pytest.mark.parametrize("overrides", OUT_OF_SHAPE_CLAIMS.values(), ids=OUT_OF_SHAPE_CLAIMS)
async def test_rest_answers_401_for_a_signed_token_with_out_of_shape_claims(
    api: Api, settings: Settings, overrides: dict[str, Any]
) -> None:
    token = _signed(settings, **overrides)
    r = await api.http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    error_of(r, 401, "unauthorized")


@pytest.mark.parametrize("overrides", OUT_OF_SHAPE_CLAIMS.values(), ids=OUT_OF_SHAPE_CLAIMS)
async def test_websocket_auth_closes_4001_for_a_signed_token_with_out_of_shape_claims(
    api: Api, settings: Settings, overrides: dict[str, Any]
) -> None:
    ws = await WsClient.open(api.ws_url, None)
    await ws.send({"type": "auth", "token": _signed(settings, **overrides)})
    error = await ws.recv()
    assert error["type"] == "error" and error["code"] == "unauthorized", error
    assert await ws.closed_with() == 4001
