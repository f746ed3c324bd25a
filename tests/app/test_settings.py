"""Settings: safe by default in production, convenient (and still secret) in development."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from app.security import token_codec
from app.settings import Environment, Settings
from domain.security import TokenKind

_ENV_NAMES = ("DATABASE_URL", "REDIS_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only what a test sets reaches Settings: no PARLEY_* from the shell, no .env file."""
    for name in list(os.environ):
        if name.startswith("PARLEY_") or name in _ENV_NAMES:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_production_without_a_secret_key_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="PARLEY_SECRET_KEY"):
        Settings(_env_file=None, env=Environment.production, data_dir=tmp_path)


def test_production_with_a_short_secret_key_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="PARLEY_SECRET_KEY"):
        Settings(
            _env_file=None,
            env=Environment.production,
            secret_key=SecretStr("x" * 31),
            data_dir=tmp_path,
        )


def test_production_reads_the_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PARLEY_ENV", "production")
    monkeypatch.setenv("PARLEY_SECRET_KEY", "s" * 32)
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert settings.env is Environment.production
    assert settings.jwt_secret() == "s" * 32
    assert not (tmp_path / "dev-secret.key").exists()


def test_production_from_the_environment_without_a_secret_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARLEY_ENV", "production")
    with pytest.raises(ValidationError, match="PARLEY_SECRET_KEY"):
        Settings(_env_file=None)


def test_allowed_origins_from_a_comma_separated_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "PARLEY_ALLOWED_ORIGINS", " https://parley.example/ ,http://localhost:5173,, "
    )
    settings = Settings(_env_file=None)
    assert settings.allowed_origins == ["https://parley.example", "http://localhost:5173"]


def test_allowed_origins_default_to_the_local_server() -> None:
    assert Settings(_env_file=None).allowed_origins == [
        "http://127.0.0.1:8000",
        "http://localhost:8000",
    ]


def test_well_known_names_are_read_without_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://db.example/parley")
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6379/0")
    settings = Settings(_env_file=None)
    assert settings.database_url == "postgresql+asyncpg://db.example/parley"
    assert settings.redis_url == "redis://cache.example:6379/0"


def test_development_without_a_secret_generates_one_under_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"  # does not exist yet
    settings = Settings(_env_file=None, env=Environment.development, data_dir=data_dir)
    assert settings.secret_key is None

    first = settings.jwt_secret()
    path = data_dir / "dev-secret.key"
    assert path.is_file()
    assert len(first) >= 32
    assert path.read_text(encoding="utf-8").strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    # Stable: a second call, and another process reading the same data_dir, agree.
    assert settings.jwt_secret() == first
    again = Settings(_env_file=None, env=Environment.development, data_dir=data_dir)
    assert again.jwt_secret() == first


def test_tokens_survive_a_restart_with_the_generated_secret(tmp_path: Path) -> None:
    before = Settings(_env_file=None, data_dir=tmp_path)
    token = token_codec(before).issue(7, "student", TokenKind.access)
    after = Settings(_env_file=None, data_dir=tmp_path)
    assert token_codec(after).decode(token).user_id == 7


def test_two_data_dirs_get_different_generated_secrets(tmp_path: Path) -> None:
    a = Settings(_env_file=None, data_dir=tmp_path / "a").jwt_secret()
    b = Settings(_env_file=None, data_dir=tmp_path / "b").jwt_secret()
    assert a != b


def test_an_explicit_secret_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, secret_key=SecretStr("k" * 40), data_dir=tmp_path)
    assert settings.jwt_secret() == "k" * 40
    assert not (tmp_path / "dev-secret.key").exists()


def test_sse_tickets_cannot_outlive_sixty_seconds() -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, sse_ticket_seconds=61)


@pytest.mark.parametrize("content", ["", "\n", "short"], ids=["empty", "newline", "short"])
def test_a_damaged_secret_file_is_never_used_as_the_signing_key(
    tmp_path: Path, content: str
) -> None:
    """A crash (or a second worker reading) between creating the file and writing it leaves
    an empty file; signing with an empty or short key would make every token forgeable."""
    (tmp_path / "dev-secret.key").write_text(content, encoding="utf-8")
    settings = Settings(_env_file=None, data_dir=tmp_path)
    try:
        secret = settings.jwt_secret()
    except (OSError, RuntimeError, ValueError):
        return  # refusing loudly is acceptable
    assert len(secret) >= 32, f"signing key of {len(secret)} characters"
