"""The bridge's configuration, from the environment (docs/telegram.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class BridgeSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    bot_token: SecretStr = Field(validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "bot_token"))
    api_base: str = Field(
        default="https://api.telegram.org",
        validation_alias=AliasChoices("TELEGRAM_API_BASE", "api_base"),
    )
    parley_url: str = Field(
        default="http://127.0.0.1:8000", validation_alias=AliasChoices("PARLEY_URL", "parley_url")
    )
    service_token: SecretStr = Field(
        validation_alias=AliasChoices("PARLEY_SERVICE_TOKEN", "service_token")
    )
    # Survives restarts: which chat belongs to whom, what was delivered (state.py).
    state_path: Path = Field(
        default=Path("data/telegram-bridge.sqlite3"),
        validation_alias=AliasChoices("TELEGRAM_BRIDGE_STATE", "state_path"),
    )
    # Telegram's limits for bots editing a message as it grows (docs/telegram.md).
    private_edit_seconds: float = Field(default=1.5, gt=0)
    group_edit_seconds: float = Field(default=3.0, gt=0)
    draft_seconds: float = Field(default=0.5, gt=0)
    # A draft is a ~30 s ephemeral preview: refreshed well within that.
    draft_refresh_seconds: float = Field(default=20.0, gt=0, lt=30)
    use_drafts: bool = True
    # Parley connections at most (one per active linked user; idle ones are closed).
    max_sessions: int = Field(default=200, ge=1)
    poll_timeout: int = Field(default=30, ge=0)
    # How long a stop lets posts in flight finish (and be recorded) before cancelling
    # them; a post cancelled in between would be posted again after a restart.
    stop_drain_seconds: float = Field(default=10.0, ge=0)
    # Webhook mode (off unless a URL is given; long polling is the default). Telegram
    # POSTs updates to `webhook_url`, which must reach the bridge's listener at
    # host:port (the URL's path is served); each request must carry the secret in
    # `X-Telegram-Bot-Api-Secret-Token`, or it is refused (401).
    webhook_url: str | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_WEBHOOK_URL", "webhook_url")
    )
    webhook_host: str = Field(
        default="0.0.0.0",
        validation_alias=AliasChoices("TELEGRAM_WEBHOOK_HOST", "webhook_host"),
    )
    webhook_port: int = Field(
        default=8443,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("TELEGRAM_WEBHOOK_PORT", "webhook_port"),
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TELEGRAM_WEBHOOK_SECRET", "webhook_secret"),
    )

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> Self:
        if self.webhook_url is None:
            return self
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        # Telegram's rule for secret_token: 1-256 characters of A-Z a-z 0-9 _ -.
        if not (1 <= len(secret) <= 256 and secret.replace("_", "").replace("-", "").isalnum()):
            raise ValueError(
                "TELEGRAM_WEBHOOK_SECRET (1-256 of A-Z a-z 0-9 _ -) is required with"
                " TELEGRAM_WEBHOOK_URL"
            )
        return self

    @property
    def ws_url(self) -> str:
        base = self.parley_url.rstrip("/")
        return base.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/ws"
