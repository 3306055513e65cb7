"""No Docker engine runs here, so the compose file is checked against the settings by reading it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_services_and_healthcheck() -> None:
    services = _compose()["services"]
    assert {"postgres", "api"} <= set(services)
    assert "healthcheck" in services["postgres"]
    assert services["api"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["api"]["command"][:2] == ["callfunnel", "serve"]


def test_worker_service_shares_settings_and_recordings() -> None:
    services = _compose()["services"]
    # The API leaves downloads to the worker service, which sees the same files and database.
    assert "--no-worker" in services["api"]["command"]
    assert services["worker"]["command"] == ["callfunnel", "worker"]
    assert services["worker"]["environment"] == services["api"]["environment"]
    assert services["worker"]["volumes"] == services["api"]["volumes"]


def test_api_environment_names_real_settings() -> None:
    env = _compose()["services"]["api"]["environment"]
    known = {f"CALLFUNNEL_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= known, set(env) - known
    assert env["CALLFUNNEL_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert env["CALLFUNNEL_ENV"] == "production"
    assert "CALLFUNNEL_BOOTSTRAP_ADMIN_KEY" in env


def test_dockerfile_ships_migrations() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for needed in ("COPY migrations", "alembic.ini", "callfunnel", "serve"):
        assert needed in dockerfile
