"""Hundreds of calls through the real webhooks give the funnel the plain rules give."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from httpx import AsyncClient

from app.metrics.funnel import FunnelQuery, compute_funnel
from app.settings.schemas import EconomicsSettings
from app.webhooks.providers import get_adapter
from app.webhooks.traffic import call_key, deliveries, mismatches, random_calls
from tests.factories import create_integration
from tests.metrics import reference
from tests.metrics.compare import assert_same

CONFIGS: dict[str, dict[str, Any]] = {
    "generic": {"secret": "scenario", "timezone": "UTC"},
    "mango": {"api_key": "mk", "api_salt": "ms", "timezone": "Europe/Moscow"},
}
ZONE = ZoneInfo("Europe/Moscow")
START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


async def test_webhook_scenario_matches_the_reference(
    client: AsyncClient, admin: dict[str, str], head: dict[str, str]
) -> None:
    rng = random.Random(7)
    expected = {}
    for provider, config in CONFIGS.items():
        created = await create_integration(client, admin, provider=provider, config=config)
        integration_id = created["id"]
        calls = random_calls(
            rng,
            100,
            start=START,
            extensions=["101", "102", "103"],
            numbers=[f"+7916{n:07d}" for n in range(60)],
            prefix=provider[:2],
            span=timedelta(days=14),
            inbound_share=0.15,
        )
        parsed = get_adapter(provider).config_model.model_validate(config)
        for request in deliveries(provider, integration_id, parsed, calls):
            response = await client.request(
                request.method, request.path, content=request.body, headers=request.headers
            )
            assert response.status_code == 200
        expected |= {call_key(integration_id, call.started_at): call for call in calls}

    seen = (await client.get("/api/v1/calls", params={"limit": 500}, headers=admin)).json()
    assert mismatches(expected, seen["items"]) == []

    # Managers tag some answered calls; some leads form applications, one signs a contract.
    outcomes = [None, "presented", "need_identified", "secretary", "refused", "voicemail"]
    for call in seen["items"]:
        if call["status"] == "answered" and rng.random() < 0.4:
            tag = rng.choice(outcomes[1:])
            patched = await client.patch(
                f"/api/v1/calls/{call['id']}", json={"outcome": tag}, headers=head
            )
            assert patched.status_code == 200
    calls = (await client.get("/api/v1/calls", params={"limit": 500}, headers=admin)).json()
    lead_ids = sorted({c["lead_id"] for c in calls["items"] if c["lead_id"]})
    application = await client.post(
        "/api/v1/applications",
        json={"lead_id": lead_ids[0], "created_at": "2026-11-10T09:00:00Z"},
        headers=head,
    )
    await client.post(
        "/api/v1/contracts",
        json={
            "application_id": application.json()["id"],
            "signed_at": "2026-11-12T09:00:00Z",
            "amount": "250000.00",
        },
        headers=head,
    )
    await client.post(
        "/api/v1/applications",
        json={"lead_id": lead_ids[1], "created_at": "2026-11-11T09:00:00Z"},
        headers=head,
    )
    applications = (await client.get("/api/v1/applications", headers=head)).json()["items"]
    contracts = (await client.get("/api/v1/contracts", headers=head)).json()["items"]

    settings = EconomicsSettings.model_validate(
        (await client.get("/api/v1/settings/economics", headers=head)).json()
    )
    plain_calls = reference.calls_from_dataset(
        {
            **c,
            "answered": c["status"] == "answered",
            "talk_seconds": c["talk_seconds"] or 0,
            "duration_seconds": c["duration_seconds"] or 0,
        }
        for c in calls["items"]
    )
    apps = reference.application_rows(applications, contracts)
    for mode, as_of in (("cohort", "2026-11-30T00:00:00Z"), ("activity", "2026-11-30T00:00:00Z")):
        params = {"from": "2026-11-02", "to": "2026-11-16", "mode": mode, "as_of": as_of}
        got = (await client.get("/api/v1/metrics/funnel", params=params, headers=head)).json()
        query = FunnelQuery(
            mode,  # type: ignore[arg-type]
            datetime(2026, 11, 1, 21, tzinfo=UTC),
            datetime(2026, 11, 15, 21, tzinfo=UTC),
            datetime(2026, 11, 30, tzinfo=UTC),
            ZONE,
        )
        rows = reference.lead_rows(plain_calls, {}, settings, query, applications=apps)
        cold = reference.reference_application_rows(apps, plain_calls, settings, query.as_of)
        want = compute_funnel(query, settings, rows, apps, cold).to_json()
        assert got["total"]["dials"] > 100
        assert_same(got["total"], want)
