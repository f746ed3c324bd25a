"""The bridge's configuration, from the environment (docs/telegram.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
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

    @property
    def ws_url(self) -> str:
        base = self.parley_url.rstrip("/")
        return base.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/ws"
