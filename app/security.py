"""Builds the security primitives (domain/security.py) from Settings.

The primitives take plain values; this is the one place that knows which settings feed
them, so every process (workers, `parley token`, `parley seed`) builds them the same way.
"""

from __future__ import annotations

from datetime import timedelta

from app.settings import Settings
from domain.security import Passwords, TokenCodec, TokenLifetimes


def token_codec(settings: Settings) -> TokenCodec:
    """The JWT codec: the configured (or generated development) secret, pinned algorithm."""
    return TokenCodec(
        settings.jwt_secret(),
        settings.jwt_algorithm,
        TokenLifetimes(
            access=timedelta(minutes=settings.access_token_minutes),
            refresh=timedelta(days=settings.refresh_token_days),
            service=timedelta(days=settings.service_token_days),
        ),
    )


def passwords(settings: Settings) -> Passwords:
    """Argon2id hashing with the configured costs."""
    return Passwords(settings.argon2_time_cost, settings.argon2_memory_kib)
