"""Every rejected token answers 401 `unauthorized` with `WWW-Authenticate: Bearer`, whatever
is wrong with it (expired, tampered, unsigned, foreign key, missing claims, wrong kind).
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jose import jwt

from app.security import token_codec
from app.settings import Settings
from domain.security import TokenKind
from tests.rest.auth_api import _me
from tests.rest.expect import error_of
from tests.support import Api


def _b64url(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(user_id: int, **overrides: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "role": "student",
        "typ": "access",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return claims


# --- rejected tokens -----------------------------------------------------------------------


async def test_an_expired_token_is_unauthorized(api: Api, settings: Settings) -> None:
    asha = await api.user("Asha")
    expired = token_codec(settings).issue(
        asha.id, "student", TokenKind.access, ttl=timedelta(seconds=-1)
    )
    error_of(await _me(api, expired), 401, "unauthorized")


async def test_a_token_issued_by_the_codec_is_accepted(api: Api, settings: Settings) -> None:
    """The control for the rejections below: the same codec, a valid ttl, accepted."""
    asha = await api.user("Asha")
    token = token_codec(settings).issue(asha.id, "student", TokenKind.access)
    assert (await _me(api, token)).status_code == 200


async def test_a_token_with_a_tampered_signature_is_unauthorized(api: Api) -> None:
    asha = await api.user("Asha")
    head, payload, signature = asha.token.split(".")
    # A middle character carries 6 full bits of the signature (the last one partly padding).
    i = len(signature) // 2
    flipped = "A" if signature[i] != "A" else "B"
    tampered = f"{head}.{payload}.{signature[:i]}{flipped}{signature[i + 1 :]}"
    assert tampered != asha.token
    error_of(await _me(api, tampered), 401, "unauthorized")


async def test_a_token_with_a_tampered_payload_is_unauthorized(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    head, _, signature = asha.token.split(".")
    forged = f"{head}.{_b64url(_claims(ravi.id))}.{signature}"
    error_of(await _me(api, forged), 401, "unauthorized")


async def test_an_unsigned_alg_none_token_is_unauthorized(api: Api) -> None:
    asha = await api.user("Asha")
    for alg in ("none", "None", "NONE"):
        unsigned = f"{_b64url({'alg': alg, 'typ': 'JWT'})}.{_b64url(_claims(asha.id))}."
        error_of(await _me(api, unsigned), 401, "unauthorized")


async def test_a_token_signed_with_another_key_is_unauthorized(api: Api) -> None:
    asha = await api.user("Asha")
    foreign = jwt.encode(_claims(asha.id), "another-secret-" + "y" * 40, algorithm="HS256")
    error_of(await _me(api, foreign), 401, "unauthorized")


async def test_a_token_with_another_hmac_algorithm_is_unauthorized(
    api: Api, settings: Settings
) -> None:
    """The algorithm is pinned: the right key under HS512 is still refused."""
    asha = await api.user("Asha")
    other = jwt.encode(_claims(asha.id), settings.jwt_secret(), algorithm="HS512")
    error_of(await _me(api, other), 401, "unauthorized")


@pytest.mark.parametrize("claim", ["exp", "sub", "jti", "iat", "typ"])
async def test_a_token_missing_a_required_claim_is_unauthorized(
    api: Api, settings: Settings, claim: str
) -> None:
    asha = await api.user("Asha")
    claims = _claims(asha.id)
    del claims[claim]
    token = jwt.encode(claims, settings.jwt_secret(), algorithm=settings.jwt_algorithm)
    error_of(await _me(api, token), 401, "unauthorized")


async def test_a_token_for_a_user_that_does_not_exist_is_unauthorized(
    api: Api, settings: Settings
) -> None:
    await api.user("Asha")
    token = token_codec(settings).issue(2**31 - 1, "student", TokenKind.access)
    error_of(await _me(api, token), 401, "unauthorized")


async def test_a_malformed_bearer_value_is_unauthorized(api: Api) -> None:
    for value in ("Bearer", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz", f"Bearer {'x' * 5000}"):
        r = await api.http.get("/api/v1/users/me", headers={"Authorization": value})
        error_of(r, 401, "unauthorized")
