"""A bad day at the PBXs: four providers, shuffled, duplicated, eight deliveries at a time."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from httpx import AsyncClient

from app.webhooks.providers import get_adapter
from app.webhooks.providers.simulation import CallSpec
from app.webhooks.traffic import (
    EXAMPLE_CONFIGS,
    Delivery,
    call_key,
    deliveries,
    mismatches,
    random_calls,
    shuffled_with_duplicates,
)
from tests.factories import create_integration

CONFIGS = EXAMPLE_CONFIGS
CALLS_PER_PROVIDER = 30
EXTENSIONS = ["101", "102", "103", "104"]
NUMBERS = [f"+7916{n:07d}" for n in range(20)]


async def _send(client: AsyncClient, stream: list[Delivery], concurrency: int) -> list[int]:
    gate = asyncio.Semaphore(concurrency)

    async def one(item: Delivery) -> int:
        async with gate:
            response = await client.request(
                item.method, item.path, content=item.body, headers=item.headers
            )
            return response.status_code

    return await asyncio.gather(*(one(item) for item in stream))


async def test_mixed_stream_gives_one_correct_call_per_provider_call(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    rng = random.Random(20261122)
    start = datetime(2026, 11, 16, 6, 0, tzinfo=UTC)
    expected: dict[tuple[str, str], CallSpec] = {}
    all_requests: list[Delivery] = []
    for provider, config in CONFIGS.items():
        created = await create_integration(client, admin, provider=provider, config=config)
        integration_id = created["id"]
        calls = random_calls(
            rng,
            CALLS_PER_PROVIDER,
            start=start,
            extensions=EXTENSIONS,
            numbers=NUMBERS,
            prefix=provider[:2],
        )
        parsed = get_adapter(provider).config_model.model_validate(config)
        all_requests += deliveries(provider, integration_id, parsed, calls)
        expected |= {call_key(integration_id, call.started_at): call for call in calls}

    stream = shuffled_with_duplicates(rng, all_requests)
    statuses = await _send(client, stream, concurrency=8)
    assert set(statuses) == {200}

    listed = await client.get("/api/v1/calls", params={"limit": 500}, headers=admin)
    assert mismatches(expected, listed.json()["items"]) == []
    # The checker itself must see a wrong call.
    broken = [dict(listed.json()["items"][0], extension="999")]
    assert any("extension" in problem for problem in mismatches(expected, broken))
