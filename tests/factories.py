"""Plain async factories for test data; each commits its own unit of work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.auth.roles import Role
from app.auth.service import api_key_service
from app.config import Settings
from app.db import Database


async def make_key(database: Database, role: Role, employee_id: str | None = None) -> str:
    async with database.sessions.begin() as session:
        _, key = await api_key_service.create(
            session, name=f"test {role.value}", role=role, employee_id=employee_id
        )
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def settings_for(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings of a test: its own database and recordings folder, no .env, quiet logs."""
    return Settings(
        database_url=database_url,
        bootstrap_admin_key=None,
        recordings_dir=tmp_path / "recordings",
        log_level="WARNING",
        _env_file=None,  # type: ignore[call-arg]
        **overrides,
    )
