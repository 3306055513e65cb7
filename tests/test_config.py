from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import Environment, Settings


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "TIMEZONE", "ENV", "BOOTSTRAP_ADMIN_KEY", "RECORDINGS_DIR"):
        monkeypatch.delenv(f"CALLFUNNEL_{name}", raising=False)
    settings = make()
    assert settings.database_url == "sqlite+aiosqlite:///./callfunnel.db"
    assert settings.timezone == "Europe/Moscow"
    assert settings.env is Environment.DEVELOPMENT
    assert settings.bootstrap_admin_key is None


def test_reads_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLFUNNEL_TIMEZONE", "Asia/Omsk")
    monkeypatch.setenv("CALLFUNNEL_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    settings = make()
    assert settings.timezone == "Asia/Omsk"
    assert not settings.is_sqlite


def test_production_refuses_a_short_bootstrap_key() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        make(env="production", bootstrap_admin_key="short")
    strong = make(env="production", bootstrap_admin_key="x" * 32)
    assert strong.bootstrap_admin_key is not None
    # Development tolerates a short key: it is the newcomer's playground.
    assert make(env="development", bootstrap_admin_key="dev").bootstrap_admin_key is not None


def test_production_warns_about_sqlite() -> None:
    warnings = make(env="production", bootstrap_admin_key="x" * 32).startup_warnings()
    assert any("SQLite in production" in w for w in warnings)
    assert make(env="development").startup_warnings() == []
    pg = make(env="production", database_url="postgresql+asyncpg://u@h/db")
    assert pg.startup_warnings() == []


def test_secret_never_printed() -> None:
    settings = make(bootstrap_admin_key="super-secret-bootstrap-key")
    assert "super-secret-bootstrap-key" not in repr(settings)


@pytest.mark.parametrize(
    ("field", "value"),
    [("timezone", "Not/AZone"), ("database_url", "mysql://x"), ("env", "staging")],
)
def test_invalid_values(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        make(**{field: value})
