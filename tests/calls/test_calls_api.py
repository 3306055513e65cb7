"""Calls as the API shows them: linking, filters, pagination, tagging and role scoping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select

from app.auth.roles import Role
from app.calls.events import Direction
from app.db import Database
from app.leads.models import Application, Lead, Script
from tests.factories import bearer, create_employee, create_integration, make_key
from tests.webhooks.delivery import deliver_call, spec

CONFIG: dict[str, object] = {
    "secret": "calls-test-secret",
    "timezone": "UTC",
    "default_region": "RU",
}


@pytest.fixture
async def integration(client: AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    return await create_integration(client, admin, config=CONFIG, name="bridge")


@pytest.fixture
async def staff(client: AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    return {
        name: (await create_employee(client, admin, name, ext))["id"]
        for name, ext in (("Anna", "101"), ("Boris", "102"))
    }


async def _calls(
    client: AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/calls", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_calls_link_to_employees_and_leads(
    client: AsyncClient,
    database: Database,
    admin: dict[str, str],
    integration: dict[str, Any],
    staff: dict[str, str],
) -> None:
    start = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
    await deliver_call(client, integration, CONFIG, spec("1", start=start))
    await deliver_call(
        client, integration, CONFIG, spec("2", extension="102", start=start + timedelta(hours=1))
    )
    await deliver_call(
        client,
        integration,
        CONFIG,
        spec("3", extension="105", number="+79031112233", start=start + timedelta(hours=2)),
    )
    await deliver_call(
        client,
        integration,
        CONFIG,
        spec("4", direction=Direction.INBOUND, start=start + timedelta(hours=3)),
    )
    calls = {c["provider_call_id"]: c for c in await _calls(client, admin)}
    assert set(calls) == {"g-1", "g-2", "g-3", "g-4"}
    assert calls["g-1"]["employee_id"] == staff["Anna"]
    assert calls["g-2"]["employee_id"] == staff["Boris"]
    # One number, one lead, whoever calls and in whichever direction.
    assert calls["g-1"]["lead_id"] == calls["g-2"]["lead_id"] == calls["g-4"]["lead_id"]
    assert calls["g-3"]["lead_id"] != calls["g-1"]["lead_id"]
    assert calls["g-1"]["external_number"] == "+79161234567"

    unknown = await client.get(f"/api/v1/employees/{calls['g-3']['employee_id']}", headers=admin)
    assert unknown.json()["name"] == "Extension 105"
    assert unknown.json()["extensions"] == ["105"]
    async with database.read_sessions() as session:
        lead = await session.get(Lead, calls["g-1"]["lead_id"])
        assert lead is not None
        assert lead.source == "pbx_outbound"
        assert [p.phone_e164 for p in lead.phones] == ["+79161234567"]


async def test_filters_and_pagination(
    client: AsyncClient, admin: dict[str, str], integration: dict[str, Any], staff: dict[str, str]
) -> None:
    base = datetime(2026, 11, 15, 20, 0, tzinfo=UTC)  # 23:00 in Moscow, still Sunday 15th there
    for n in range(5):
        await deliver_call(
            client,
            integration,
            CONFIG,
            spec(
                str(n),
                extension="101" if n % 2 == 0 else "102",
                start=base + timedelta(hours=n),
                talk=0 if n == 4 else 60,
                recording=n == 1,
            ),
        )
    everything = await _calls(client, admin)
    assert [c["provider_call_id"] for c in everything] == ["g-4", "g-3", "g-2", "g-1", "g-0"]

    monday = await _calls(client, admin, **{"from": "2026-11-16", "to": "2026-11-17"})
    assert [c["provider_call_id"] for c in monday] == ["g-4", "g-3", "g-2", "g-1"]
    assert [c["provider_call_id"] for c in await _calls(client, admin, status="no_answer")] == [
        "g-4"
    ]
    recorded = await _calls(client, admin, has_recording="true")
    assert [c["provider_call_id"] for c in recorded] == ["g-1"]
    assert recorded[0]["recording"]["status"] == "pending"
    assert len(await _calls(client, admin, has_recording="false")) == 4
    borises = await _calls(client, admin, employee_id=staff["Boris"])
    assert [c["provider_call_id"] for c in borises] == ["g-3", "g-1"]
    assert len(await _calls(client, admin, provider_call_id="g-2")) == 1

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/calls", params=params, headers=admin)).json()
        seen += [c["provider_call_id"] for c in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == ["g-4", "g-3", "g-2", "g-1", "g-0"]

    bad = await client.get("/api/v1/calls", params={"from": "yesterday"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["query", "from"]
    assert (
        await client.get("/api/v1/calls", params={"direction": "sideways"}, headers=admin)
    ).status_code == 422


async def test_manager_sees_and_tags_only_own_calls(
    client: AsyncClient,
    database: Database,
    admin: dict[str, str],
    integration: dict[str, Any],
    staff: dict[str, str],
) -> None:
    await deliver_call(client, integration, CONFIG, spec("a", extension="101"))
    await deliver_call(
        client, integration, CONFIG, spec("b", extension="102", number="+79035550000")
    )
    anna = bearer(await make_key(database, Role.MANAGER, staff["Anna"]))
    own = await _calls(client, anna)
    assert [c["provider_call_id"] for c in own] == ["g-a"]
    others = (await _calls(client, admin, provider_call_id="g-b"))[0]
    assert (await client.get(f"/api/v1/calls/{others['id']}", headers=anna)).status_code == 404
    tag = await client.patch(f"/api/v1/calls/{others['id']}", json={"notes": "x"}, headers=anna)
    assert tag.status_code == 404
    mine = await client.patch(
        f"/api/v1/calls/{own[0]['id']}", json={"notes": "called back"}, headers=anna
    )
    assert mine.status_code == 200
    assert mine.json()["notes"] == "called back"


async def test_tagging_outcomes_and_scripts(
    client: AsyncClient,
    database: Database,
    admin: dict[str, str],
    head: dict[str, str],
    integration: dict[str, Any],
    staff: dict[str, str],
) -> None:
    await deliver_call(client, integration, CONFIG, spec("t"))
    call = (await _calls(client, admin))[0]
    url = f"/api/v1/calls/{call['id']}"

    assert (await client.patch(url, json={"outcome": "maybe"}, headers=head)).status_code == 422
    missing_script = await client.patch(url, json={"script_id": "scr_nope"}, headers=head)
    assert missing_script.status_code == 422
    assert missing_script.json()["errors"] == [
        {"loc": ["body", "script_id"], "msg": "no such script"}
    ]

    async with database.sessions.begin() as session:
        session.add(Script(id="scr_first_v1", name="First call v1", kind="first_call", text="..."))
    tagged = await client.patch(
        url, json={"outcome": "application", "script_id": "scr_first_v1"}, headers=head
    )
    assert tagged.status_code == 200
    assert tagged.json()["outcome"] == "application"
    assert tagged.json()["script_id"] == "scr_first_v1"
    # Tagging again, or re-tagging after a change, never forms a second application.
    await client.patch(url, json={"outcome": "presented"}, headers=head)
    await client.patch(url, json={"outcome": "application"}, headers=head)
    async with database.read_sessions() as session:
        apps = (await session.execute(select(Application))).scalars().all()
    assert len(apps) == 1
    assert apps[0].lead_id == call["lead_id"]
    assert apps[0].source_call_id == call["id"]
    assert apps[0].status == "open"
    assert apps[0].created_at == datetime.fromisoformat(call["ended_at"])

    cleared = await client.patch(url, json={"outcome": None}, headers=head)
    assert cleared.json()["outcome"] is None
    assert cleared.json()["script_id"] == "scr_first_v1"
    assert (await client.patch("/api/v1/calls/call_nope", json={}, headers=head)).status_code == 404
