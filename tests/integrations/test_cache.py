"""Webhooks read integrations from a short-lived per-process cache: edits must still apply."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy import update

from app.db import Database
from app.integrations.cache import TTL_SECONDS, IntegrationCache
from app.integrations.models import Integration
from app.integrations.service import validated_config
from app.webhooks.providers import get_adapter
from tests.factories import create_integration, insert_integration
from tests.webhooks.delivery import spec


async def _first_request_status(
    client: AsyncClient, integration_id: str, config: dict[str, Any]
) -> int:
    adapter = get_adapter("generic")
    request = adapter.signed_requests(
        spec("c1"), adapter.config_model.model_validate(config), integration_id=integration_id
    )[0]
    response = await client.post(
        f"/webhooks/generic/{integration_id}", content=request.body, headers=dict(request.headers)
    )
    return response.status_code


async def test_edits_through_the_api_apply_to_the_next_delivery(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    created = await create_integration(client, admin, config={"secret": "old_secret"}, name="g")
    integration_id = created["id"]
    assert await _first_request_status(client, integration_id, {"secret": "old_secret"}) == 200

    patched = await client.patch(
        f"/api/v1/integrations/{integration_id}",
        json={"config": {"secret": "new_secret"}},
        headers=admin,
    )
    assert patched.status_code == 200
    assert await _first_request_status(client, integration_id, {"secret": "old_secret"}) == 401
    assert await _first_request_status(client, integration_id, {"secret": "new_secret"}) == 200

    assert (
        await client.delete(f"/api/v1/integrations/{integration_id}", headers=admin)
    ).status_code == 204
    assert await _first_request_status(client, integration_id, {"secret": "new_secret"}) == 404


async def test_edits_by_another_process_apply_within_the_ttl(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    created = await create_integration(client, admin, config={"secret": "first"}, name="g")
    integration_id = created["id"]
    now = 1000.0
    cache = IntegrationCache(database, clock=lambda: now)
    cached = await cache.get(integration_id)
    assert cached is not None
    assert cached.config.model_dump()["secret"] == "first"

    async with database.unit_of_work() as session:
        await session.execute(
            update(Integration)
            .where(Integration.id == integration_id)
            .values(config=validated_config("generic", {"secret": "second"}).model_dump())
        )
    still = await cache.get(integration_id)
    assert still is not None
    assert still.config.model_dump()["secret"] == "first"

    now += TTL_SECONDS + 0.1
    fresh = await cache.get(integration_id)
    assert fresh is not None
    assert fresh.config.model_dump()["secret"] == "second"

    async with database.unit_of_work() as session:
        await session.execute(
            update(Integration)
            .where(Integration.id == integration_id)
            .values(deleted_at=Integration.created_at)
        )
    now += TTL_SECONDS + 0.1
    assert await cache.get(integration_id) is None


async def test_an_unknown_id_is_not_remembered(client: AsyncClient, database: Database) -> None:
    integration_id = "intg_installed_after_the_first_try_000"
    assert await _first_request_status(client, integration_id, {"secret": "s"}) == 404
    config = validated_config("generic", {"secret": "s"}).model_dump()
    await insert_integration(database, integration_id=integration_id, config=config, name="g")
    assert await _first_request_status(client, integration_id, {"secret": "s"}) == 200
