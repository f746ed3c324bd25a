"""The token codec takes plain values and refuses a configuration it cannot use safely."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import Unauthorized
from domain.security import TokenCodec, TokenKind, TokenLifetimes

LIFETIMES = TokenLifetimes(
    access=timedelta(minutes=5), refresh=timedelta(days=1), service=timedelta(days=30)
)
SECRET = "s" * 48


@pytest.mark.parametrize("algorithm", ["none", "RS256", "ES256", "hs256", ""])
def test_only_hmac_algorithms_are_accepted(algorithm: str) -> None:
    with pytest.raises(ValueError, match="algorithm"):
        TokenCodec(SECRET, algorithm, LIFETIMES)


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        TokenCodec("", "HS256", LIFETIMES)


def test_each_kind_gets_its_own_lifetime() -> None:
    codec = TokenCodec(SECRET, "HS384", LIFETIMES)
    for kind, lifetime in [
        (TokenKind.access, LIFETIMES.access),
        (TokenKind.refresh, LIFETIMES.refresh),
        (TokenKind.service, LIFETIMES.service),
    ]:
        claims = codec.decode(codec.issue(7, "student", kind))
        assert claims.kind is kind and claims.user_id == 7
        # iat/exp are whole seconds: the lifetime holds to within two.
        remaining = claims.expires_at - datetime.now(UTC)
        assert lifetime - timedelta(seconds=2) <= remaining <= lifetime


def test_a_token_signed_with_another_algorithm_is_refused() -> None:
    token = TokenCodec(SECRET, "HS512", LIFETIMES).issue(7, "student", TokenKind.access)
    with pytest.raises(Unauthorized):
        TokenCodec(SECRET, "HS256", LIFETIMES).decode(token)
