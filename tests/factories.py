"""Plain async factories for test data, one per thing a test needs.

Two kinds: ``create_*`` go through the API (a test of behaviour sees the same rows a user would
make) and return the JSON answer; ``insert_*`` write rows straight to the database (ids chosen by
the test, states the API cannot make directly) and commit their own unit of work.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from httpx import AsyncClient

from app.auth.roles import Role
from app.auth.service import api_key_service
from app.config import Settings
from app.db import Database
from app.ids import new_id
from app.integrations.models import Integration

Headers = Mapping[str, str]
Json = dict[str, Any]

# A generic bridge that signs with this secret; the default of ``create_integration``.
GENERIC_CONFIG: Json = {"secret": "factory-generic-secret"}


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


async def _created(client: AsyncClient, path: str, headers: Headers, body: Json) -> Json:
    response = await client.post(path, json=body, headers=dict(headers))
    assert response.status_code == 201, response.text
    created: Json = response.json()
    return created


async def create_integration(
    client: AsyncClient,
    headers: Headers,
    *,
    provider: str = "generic",
    config: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> Json:
    """An integration made through the API (its ``webhook_url`` ready to deliver to)."""
    body = {
        "provider": provider,
        "name": name or provider,
        "config": dict(GENERIC_CONFIG if config is None else config),
    }
    return await _created(client, "/api/v1/integrations", headers, body)


async def create_employee(
    client: AsyncClient, headers: Headers, name: str, *extensions: str, **fields: Any
) -> Json:
    body = {"name": name, "extensions": list(extensions), **fields}
    return await _created(client, "/api/v1/employees", headers, body)


async def create_lead(client: AsyncClient, headers: Headers, **fields: Any) -> Json:
    return await _created(client, "/api/v1/leads", headers, fields)


async def create_application(
    client: AsyncClient, headers: Headers, lead_id: str, **fields: Any
) -> Json:
    return await _created(client, "/api/v1/applications", headers, {"lead_id": lead_id, **fields})


async def insert_integration(
    database: Database,
    *,
    provider: str = "generic",
    config: Mapping[str, Any] | None = None,
    integration_id: str | None = None,
    name: str | None = None,
) -> str:
    """An integration row as given (the config is stored as is, not validated); its id."""
    integration_id = integration_id or new_id("intg")
    async with database.sessions.begin() as session:
        session.add(
            Integration(
                id=integration_id,
                provider=provider,
                name=name or f"{provider} test",
                config=dict(GENERIC_CONFIG if config is None else config),
            )
        )
    return integration_id
