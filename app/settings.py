"""Parley's settings: one Pydantic model read from the environment and a `.env` file.

Well-known names (DATABASE_URL, REDIS_URL, OPENAI_API_KEY, ...) are read as they are;
everything else is prefixed `PARLEY_`. A missing DATABASE_URL / REDIS_URL means "start the
embedded PostgreSQL / Redis" (`parley serve` does that and passes the URLs to its workers).
"""

from __future__ import annotations

import logging
import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

log = logging.getLogger("parley.settings")

_MIN_SECRET_LENGTH = 32


class Environment(StrEnum):
    development = "development"
    production = "production"
    test = "test"


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Every knob Parley has. Documented in the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="PARLEY_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    env: Environment = Environment.development
    data_dir: Path = Path("var")
    log_level: str = "INFO"
    # "json": one JSON object per line, with request_id / connection_id (docs/operations.md).
    log_format: Literal["text", "json"] = "text"
    # Garbage collector (docs/decisions/0037): freeze the startup heap and collect the
    # young generation less often. 0 keeps CPython's default threshold.
    gc_freeze: bool = True
    gc_gen0_threshold: int = Field(default=10_000, ge=0, le=1_000_000)
    # When set, GET /metrics requires `Authorization: Bearer <this>` (set it in production).
    metrics_token: SecretStr | None = None

    database_url: str | None = Field(
        default=None, validation_alias=_alias("DATABASE_URL", "PARLEY_DATABASE_URL")
    )
    redis_url: str | None = Field(
        default=None, validation_alias=_alias("REDIS_URL", "PARLEY_REDIS_URL")
    )
    # "redis" is the real broker; "memory" is the in-process stand-in for a single worker
    # with no Redis at all. It is only ever used when asked for explicitly.
    broker: Literal["redis", "memory"] = "redis"
    # PostgreSQL connections per worker process: kept open (pool) and opened beyond it
    # under load, closed on return (overflow). Overflow connections are re-forked backends
    # with cold caches (docs/benchmarks.md "PostgreSQL CPU per stored message"), so the
    # default keeps all of them open. workers x (pool + overflow) must fit the server's
    # max_connections with everything else that connects to it.
    db_pool_size: int = Field(default=20, ge=1, le=200)
    db_max_overflow: int = Field(default=0, ge=0, le=200)
    redis_prefix: str = "parley"

    secret_key: SecretStr | None = None
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    access_token_minutes: int = Field(default=30, ge=1)
    refresh_token_days: int = Field(default=14, ge=1)
    service_token_days: int = Field(default=365, ge=1)
    # A bridge's token for one linked user (docs/protocol.md §18): short, since unlinking
    # revokes the live ones anyway and the bridge renews them in band.
    linked_token_minutes: int = Field(default=15, ge=1, le=60)
    link_code_seconds: int = Field(default=600, ge=30, le=3600)
    # Argon2id cost (OWASP minimum by default); tests lower it to keep the suite fast.
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19456, ge=8)
    sse_ticket_seconds: int = Field(default=60, ge=5, le=60)

    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://127.0.0.1:8000", "http://localhost:8000"]
    )

    # Real-time limits (documented in docs/protocol.md).
    ws_auth_timeout: float = 10.0
    ws_heartbeat: int = 25
    ws_max_frame_bytes: int = 64 * 1024
    ws_outbound_queue: int = 512
    ws_rate_per_second: float = 20.0
    ws_rate_burst: int = 60
    typing_throttle_seconds: float = 2.0
    history_cap: int = 1000
    # A crashed worker's connections leave presence within ttl + ttl/4 (the sweep period).
    presence_ttl_seconds: int = Field(default=20, ge=2, le=24)
    sse_keepalive_seconds: int = Field(default=15, ge=1, le=15)
    message_max_chars: int = 4000
    # Admission control (docs/decisions/0026): above this smoothed event-loop lag a worker
    # answers new `send` frames and message POSTs at once with `unavailable` and a
    # retry-after hint instead of queueing them. 0 turns it off (the lag is still measured).
    admission_lag_ms: int = Field(default=50, ge=0, le=60_000)

    # Live quiz sessions and leaderboards (docs/decisions/0014).
    # The shortest question a session may set; tests lower it to keep timing tests fast.
    quiz_min_seconds_per_question: int = Field(default=10, ge=1, le=300)
    quiz_reveal_seconds: float = Field(default=4.0, ge=0.1, le=60)
    # A worker running a session holds its lease this long and refreshes it at a third of
    # it; every worker looks for unleased running sessions every `quiz_check_seconds`.
    quiz_lease_seconds: float = Field(default=3.0, ge=0.5, le=60)
    quiz_check_seconds: float = Field(default=1.0, ge=0.1, le=30)
    # At most one board snapshot per channel per window (plus the trailing one).
    board_window_seconds: float = Field(default=0.25, ge=0.05, le=5)

    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=_alias("OPENAI_API_KEY", "PARLEY_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=_alias("OPENAI_BASE_URL", "PARLEY_OPENAI_BASE_URL")
    )
    openai_model: str = Field(
        default="gpt-4o-mini",
        validation_alias=_alias("PARLEY_LLM_MODEL", "OPENAI_MODEL", "PARLEY_OPENAI_MODEL"),
    )

    # Symptom2Specialist (domain/bot; documented in docs/protocol.md "Bot conversations").
    # A model is used when OPENAI_API_KEY or OPENAI_BASE_URL is set; otherwise, and as the
    # fallback for an unusable verdict, the offline triage engine answers.
    bot_quota: int = Field(default=10, ge=1)  # answers per user per window
    bot_quota_window_seconds: float = Field(default=600.0, gt=0)
    bot_window_ms: int = Field(default=40, ge=5, le=500)  # delta coalescing window
    bot_first_token_seconds: float = Field(default=20.0, gt=0)
    bot_idle_seconds: float = Field(default=20.0, gt=0)
    bot_total_seconds: float = Field(default=120.0, gt=0)
    # An answer whose worker died ends `interrupted` within lease + 2 x sweep seconds.
    bot_lease_seconds: float = Field(default=6.0, ge=1)
    bot_sweep_seconds: float = Field(default=2.0, gt=0)
    bot_context_messages: int = Field(default=20, ge=1)
    bot_context_chars: int = Field(default=8000, ge=100)
    bot_offline_pace_ms: tuple[int, int] = (30, 60)

    @property
    def admission_bound(self) -> float | None:
        """The admission bound in seconds, or None when admission control is off."""
        return self.admission_lag_ms / 1000 if self.admission_lag_ms else None

    @property
    def llm_configured(self) -> bool:
        return self.openai_api_key is not None or bool(self.openai_base_url)

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        return value

    @model_validator(mode="after")
    def _require_real_secret_in_production(self) -> Settings:
        if self.env is Environment.production:
            secret = self.secret_key.get_secret_value() if self.secret_key else ""
            if len(secret) < _MIN_SECRET_LENGTH:
                raise ValueError(
                    "PARLEY_SECRET_KEY must be set to at least "
                    f"{_MIN_SECRET_LENGTH} characters when PARLEY_ENV=production"
                )
        return self

    def jwt_secret(self) -> str:
        """The signing secret; in development a generated one is kept under data_dir.

        Generating it (instead of a constant in the repo) means no two machines share a dev
        secret; storing it means tokens survive restarts and all workers agree on it.
        """
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "dev-secret.key"
        if not path.exists():
            _write_secret_once(path, secrets.token_urlsafe(48))
            log.warning(
                "PARLEY_SECRET_KEY is not set: using a generated development secret stored "
                "at %s. Never run like this in production.",
                path,
            )
        secret = path.read_text(encoding="utf-8").strip()
        if len(secret) < _MIN_SECRET_LENGTH:
            raise RuntimeError(
                f"{path} holds no usable secret; delete it to generate a new one, "
                "or set PARLEY_SECRET_KEY."
            )
        return secret


def _write_secret_once(path: Path, secret: str) -> None:
    """Create `path` with `secret`, atomically and private from the first byte.

    Written to a private temporary file, then hard-linked into place: the link fails if
    another worker got there first, and nobody ever reads a half-written secret.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secret.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
