"""Health, readiness, the bootstrap admin key, and the access log's masking."""

from __future__ import annotations

from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr
from sqlalchemy import text

from app.config import Settings
from app.db import Database
from app.main import create_app, mask_integration_ids
from tests.factories import bearer


async def test_healthz_needs_no_key(client: AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_migration_state(client: AsyncClient, database: Database) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"
    assert ready.json()["migration"] == ready.json()["expected_migration"]

    async with database.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    behind = await client.get("/readyz")
    assert behind.status_code == 503
    assert behind.json()["migration"] == "older"
    async with database.engine.begin() as connection:
        await connection.execute(
            text("UPDATE alembic_version SET version_num = :head"),
            {"head": ready.json()["expected_migration"]},
        )


async def test_readyz_when_database_unreachable(tmp_path: object) -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
        _env_file=None,  # type: ignore[call-arg]
    )
    app = create_app(settings)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
        response = await http.get("/readyz")
        api = await http.get("/api/v1/employees", headers=bearer("cf_anything"))
    await app.state.database.dispose()
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert api.status_code == 503
    assert api.headers["content-type"] == "application/problem+json"


async def test_bootstrap_admin_key(settings: Settings) -> None:
    key = "bootstrap-key-for-tests-0123456789abcdef"
    configured = settings.model_copy(update={"bootstrap_admin_key": SecretStr(key)})
    for _ in range(2):  # a restart must not create a second admin key
        app = create_app(configured)
        async with app.router.lifespan_context(app):
            transport = ASGITransport(app=app)
            async with AsyncClient(transport=transport, base_url="http://t") as http:
                keys = await http.get("/api/v1/api-keys", headers=bearer(key))
        assert keys.status_code == 200
        assert [k["name"] for k in keys.json()["items"]] == ["bootstrap admin"]


def test_integration_ids_are_masked_in_access_logs() -> None:
    path = "/webhooks/mango/intg_7QmZx81kd0ad9s8d7f6g5h4j3k2l1/events/call"
    masked = mask_integration_ids(path)
    assert masked == "/webhooks/mango/intg_7QmZ…/events/call"
