"""Managers and Leads pages: each role gets its own scope, as from the API."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from app.auth.roles import Role
from app.db import Database
from tests.dashboard.pages import figures_of, signed_in
from tests.factories import bearer, make_key
from tests.metrics.loading import load_dataset
from tests.metrics.worked_example import DATASET

CUSTOM = {"period": "custom", "from": "2026-11-16", "until": "2026-11-22", "mode": "activity"}
API = {"from": "2026-11-16", "to": "2026-11-23", "mode": "activity", "group_by": "employee"}
ROLES = [(Role.ADMIN, None), (Role.HEAD, None), (Role.MANAGER, "e1")]


@pytest.mark.parametrize(("role", "employee"), ROLES)
async def test_managers_are_the_apis_groups(
    client: AsyncClient, database: Database, role: Role, employee: str | None
) -> None:
    await load_dataset(database, DATASET)
    key = await make_key(database, role, employee)
    api = (await client.get("/api/v1/metrics/funnel", params=API, headers=bearer(key))).json()
    await signed_in(client, key)
    page = await client.get("/managers", params={**CUSTOM, "sort": "dials", "order": "asc"})
    assert page.status_code == 200, page.text
    figures = figures_of(page)
    shown = {name.split(".")[0] for name in figures}
    assert shown == {group["key"] or "none" for group in api["groups"]}
    for group in api["groups"]:
        prefix = group["key"] or "none"
        assert figures[f"{prefix}.dials"] == str(group["dials"])
        for stage in group["stages"]:
            assert figures[f"{prefix}.{stage['name']}"] == str(stage["count"])
    own = await client.get("/managers/e1", params=CUSTOM)
    assert own.status_code == 200
    colleague = await client.get("/managers/e2", params=CUSTOM)
    assert colleague.status_code == (404 if role is Role.MANAGER else 200)
    assert (await client.get("/managers/nobody")).status_code == 404


@pytest.mark.parametrize(("role", "employee"), ROLES)
async def test_leads_and_a_leads_timeline(
    client: AsyncClient, database: Database, role: Role, employee: str | None
) -> None:
    await load_dataset(database, DATASET)
    key = await make_key(database, role, employee)
    api = (await client.get("/api/v1/leads", params={"limit": 200}, headers=bearer(key))).json()
    await signed_in(client, key)
    page = await client.get("/leads", params={"limit": 200, "stage": ""})
    assert page.status_code == 200, page.text
    readable = {lead["id"] for lead in api["items"]}
    for lead_id in (lead["id"] for lead in DATASET["leads"]):
        assert (f'data-lead="{lead_id}"' in page.text) == (lead_id in readable)
        answer = await client.get(f"/leads/{lead_id}")
        assert answer.status_code == (200 if lead_id in readable else 404)
    assert readable, "the example gives every role some lead"
    if role is Role.MANAGER:
        assert len(readable) < len(DATASET["leads"])
    first = sorted(readable)[0]
    timeline = (await client.get(f"/api/v1/leads/{first}/timeline", headers=bearer(key))).json()
    lead_page = await client.get(f"/leads/{first}")
    for entry in timeline:
        assert f'data-entry="{entry["kind"]}:{entry["id"]}"' in lead_page.text


async def test_a_managers_page_lists_the_leads_its_key_reads(
    client: AsyncClient, database: Database
) -> None:
    await load_dataset(database, DATASET)
    manager = bearer(await make_key(database, Role.MANAGER, "e1"))
    await signed_in(client, await make_key(database, Role.HEAD))
    page = await client.get("/managers/e1", params=CUSTOM)
    assert page.status_code == 200
    listed = 0
    for stage in (2, 4):
        api = await client.get("/api/v1/leads", params={"stage": stage}, headers=manager)
        for lead in api.json()["items"]:
            assert f'href="/leads/{lead["id"]}"' in page.text
            listed += 1
    others = await client.get(
        "/api/v1/leads",
        params={"stage": 2},
        headers=bearer(await make_key(database, Role.MANAGER, "e2")),
    )
    for lead in others.json()["items"]:
        assert f'href="/leads/{lead["id"]}"' not in page.text
    assert listed > 0, "the example has leads of e1 waiting"
