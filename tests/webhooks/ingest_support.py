"""Helpers for tests that deliver provider requests through the real webhook endpoints."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import delete, func, select

from app.calls.models import Call, CallLeg
from app.db import Database
from app.integrations.models import Integration
from app.integrations.service import validated_config
from app.recordings.models import Recording
from app.webhooks.models import WebhookEvent
from tests.webhooks.providers.support import Fixture

PROVIDERS = ["mango", "zadarma", "twilio", "generic"]


async def install_integration(database: Database, fixture: Fixture) -> str:
    """The fixture's integration, under the fixture's id (Twilio signs the URL, id included)."""
    config = {k: v for k, v in fixture.integration.items() if k != "id"}
    async with database.sessions.begin() as session:
        if await session.get(Integration, fixture.integration_id) is None:
            session.add(
                Integration(
                    id=fixture.integration_id,
                    provider=fixture.provider,
                    name=f"{fixture.provider} example",
                    config=validated_config(fixture.provider, config).model_dump(mode="json"),
                )
            )
    return fixture.integration_id


async def forget_integration_data(database: Database, integration_id: str) -> None:
    """Remove what deliveries created for one integration (for a fresh pass in the same test)."""
    async with database.sessions.begin() as session:
        call_ids = select(Call.id).where(Call.integration_id == integration_id)
        await session.execute(delete(Recording).where(Recording.call_id.in_(call_ids)))
        await session.execute(delete(CallLeg).where(CallLeg.integration_id == integration_id))
        await session.execute(delete(Call).where(Call.integration_id == integration_id))
        await session.execute(
            delete(WebhookEvent).where(WebhookEvent.integration_id == integration_id)
        )


async def deliver(client: AsyncClient, raw: dict[str, Any]) -> Response:
    return await client.request(
        raw["method"], raw["path"], content=raw["body"].encode(), headers=raw["headers"]
    )


async def count_events(database: Database, integration_id: str) -> int:
    async with database.read_sessions() as session:
        query = select(func.count()).where(WebhookEvent.integration_id == integration_id)
        return int(await session.scalar(query) or 0)


async def calls_snapshot(
    client: AsyncClient, headers: dict[str, str], integration_id: str
) -> dict[str, dict[str, Any]]:
    """The integration's calls as the API shows them, keyed by provider call id, without the
    fields that name the row itself (so that two passes over the same events compare equal)."""
    response = await client.get(
        "/api/v1/calls", params={"integration_id": integration_id, "limit": 500}, headers=headers
    )
    assert response.status_code == 200, response.text
    snapshot = {}
    for call in response.json()["items"]:
        if call["recording"] is not None:
            assert call["recording"]["url"] == f"/api/v1/calls/{call['id']}/recording"
            call["recording"] = {k: v for k, v in call["recording"].items() if k != "url"}
        snapshot[call["provider_call_id"]] = {k: v for k, v in call.items() if k != "id"}
    return snapshot
