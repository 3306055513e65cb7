"""Leads, applications, contracts and scripts through the API, every error status included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient

from app.auth.roles import Role
from app.db import Database
from tests.factories import bearer, create_integration, create_lead, make_key
from tests.webhooks.delivery import deliver_call, spec

GENERIC: dict[str, object] = {"secret": "leads-test", "timezone": "UTC", "default_region": "RU"}


async def test_create_normalises_phones_and_refuses_taken_ones(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    lead = await create_lead(
        client,
        admin,
        company="ООО Ромашка",
        contact_name="Ivan Petrov",
        phones=["8 (916) 123-45-67", "+7 916 123 45 67", "+1 415 555 0100"],
        campaign="pumps-2026-q4",
    )
    assert lead["id"].startswith("lead_")
    assert lead["phones"] == ["+79161234567", "+14155550100"]
    assert lead["status"] == "active"
    assert lead["source"] is None

    taken = await client.post(
        "/api/v1/leads", json={"company": "Other", "phones": ["79161234567"]}, headers=admin
    )
    assert taken.status_code == 409
    assert taken.json()["detail"] == f"phone +79161234567 already belongs to lead {lead['id']}"

    junk = await client.post(
        "/api/v1/leads", json={"company": "X", "phones": ["12-34"]}, headers=admin
    )
    assert junk.status_code == 422
    assert junk.json()["errors"] == [{"loc": ["body", "phones", "0"], "msg": "not a phone number"}]
    empty = await client.post("/api/v1/leads", json={}, headers=admin)
    assert empty.status_code == 422
    unknown_owner = await client.post(
        "/api/v1/leads", json={"company": "X", "owner_id": "emp_none"}, headers=admin
    )
    assert unknown_owner.status_code == 422


async def test_update_refusal_and_phones(client: AsyncClient, admin: dict[str, str]) -> None:
    lead = await create_lead(client, admin, company="A", phones=["+79160000001"])
    other = await create_lead(client, admin, company="B", phones=["+79160000002"])
    url = f"/api/v1/leads/{lead['id']}"

    no_reason = await client.patch(url, json={"status": "refused"}, headers=admin)
    assert no_reason.status_code == 422
    refused = await client.patch(
        url,
        json={"status": "refused", "refusal_reason": "has a supplier", "refused_at_stage": 2},
        headers=admin,
    )
    assert refused.status_code == 200
    assert refused.json()["status"] == "refused"
    assert refused.json()["refusal_reason"] == "has a supplier"
    assert refused.json()["refused_at_stage"] == 2
    bad_stage = await client.patch(
        url, json={"status": "refused", "refusal_reason": "x", "refused_at_stage": 9}, headers=admin
    )
    assert bad_stage.status_code == 422
    reopened = await client.patch(url, json={"status": "active"}, headers=admin)
    assert reopened.json()["refusal_reason"] is None
    assert (await client.patch(url, json={"status": "won"}, headers=admin)).status_code == 422

    clash = await client.patch(url, json={"phones": ["+79160000002"]}, headers=admin)
    assert clash.status_code == 409
    assert other["id"] in clash.json()["detail"]
    phones = await client.patch(
        url, json={"phones": ["+79160000001", "89160000003"]}, headers=admin
    )
    assert phones.json()["phones"] == ["+79160000001", "+79160000003"]
    assert (await client.get("/api/v1/leads/lead_missing", headers=admin)).status_code == 404


async def test_list_filters_and_pagination(client: AsyncClient, admin: dict[str, str]) -> None:
    anna = (await client.post("/api/v1/employees", json={"name": "Anna"}, headers=admin)).json()
    romashka = await create_lead(
        client,
        admin,
        company="ООО Ромашка",
        phones=["+79161112233"],
        campaign="pumps",
        owner_id=anna["id"],
    )
    await create_lead(client, admin, company="Vasilek LLC", contact_name="Ольга", campaign="valves")
    await create_lead(client, admin, contact_name="Пётр Ромашкин", campaign="pumps")

    async def ids(**params: Any) -> list[str]:
        response = await client.get("/api/v1/leads", params=params, headers=admin)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids(phone="8 916 111-22-33") == [romashka["id"]]
    assert len(await ids(campaign="pumps")) == 2
    assert await ids(owner_id=anna["id"]) == [romashka["id"]]
    assert len(await ids(q="РОМАШК")) == 2  # case-insensitive in Cyrillic too
    assert len(await ids(q="ольга")) == 1
    assert await ids(q="ромашка ооо") == [romashka["id"]]
    assert len(await ids(status="active")) == 3
    bad = await client.get("/api/v1/leads", params={"phone": "abc"}, headers=admin)
    assert bad.status_code == 422

    first = (await client.get("/api/v1/leads?limit=2", headers=admin)).json()
    rest = (
        await client.get(
            "/api/v1/leads", params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin
        )
    ).json()
    assert len(first["items"]) == 2
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None


async def test_delete_is_admin_only(
    client: AsyncClient, admin: dict[str, str], head: dict[str, str]
) -> None:
    lead = await create_lead(client, admin, company="Gone")
    assert (await client.delete(f"/api/v1/leads/{lead['id']}", headers=head)).status_code == 403
    assert (await client.delete(f"/api/v1/leads/{lead['id']}", headers=admin)).status_code == 204
    assert (await client.get(f"/api/v1/leads/{lead['id']}", headers=admin)).status_code == 404
    assert (await client.delete(f"/api/v1/leads/{lead['id']}", headers=admin)).status_code == 404


async def test_merge_moves_everything(client: AsyncClient, admin: dict[str, str]) -> None:
    integration = await create_integration(client, admin, config=GENERIC, name="pbx")
    await deliver_call(client, integration, GENERIC, spec("m1", number="+79165550001"))
    await deliver_call(client, integration, GENERIC, spec("m2", number="+79165550002"))
    calls = (await client.get("/api/v1/calls", headers=admin)).json()["items"]
    lead_of = {c["external_number"]: c["lead_id"] for c in calls}
    duplicate, keeper = lead_of["+79165550001"], lead_of["+79165550002"]
    await client.patch(
        f"/api/v1/leads/{duplicate}", json={"company": "Romashka", "notes": "old"}, headers=admin
    )
    await client.patch(f"/api/v1/leads/{keeper}", json={"notes": "new"}, headers=admin)
    application = await client.post(
        "/api/v1/applications", json={"lead_id": duplicate}, headers=admin
    )
    assert application.status_code == 201

    merged = await client.post(
        f"/api/v1/leads/{duplicate}/merge", json={"into": keeper}, headers=admin
    )
    assert merged.status_code == 200
    body = merged.json()
    assert sorted(body["phones"]) == ["+79165550001", "+79165550002"]
    assert body["company"] == "Romashka"
    assert body["notes"] == "new\nold"
    assert (await client.get(f"/api/v1/leads/{duplicate}", headers=admin)).status_code == 404
    calls = (await client.get("/api/v1/calls", headers=admin)).json()["items"]
    assert {c["lead_id"] for c in calls} == {keeper}
    moved = (
        await client.get("/api/v1/applications", params={"lead_id": keeper}, headers=admin)
    ).json()
    assert [a["id"] for a in moved["items"]] == [application.json()["id"]]
    itself = await client.post(
        f"/api/v1/leads/{keeper}/merge", json={"into": keeper}, headers=admin
    )
    assert itself.status_code == 422


async def test_applications_contracts_and_timeline(
    client: AsyncClient, admin: dict[str, str], head: dict[str, str]
) -> None:
    integration = await create_integration(client, admin, config=GENERIC, name="pbx")
    start = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
    await deliver_call(client, integration, GENERIC, spec("t1", start=start, recording=True))
    call = (await client.get("/api/v1/calls", headers=admin)).json()["items"][0]
    lead_id = call["lead_id"]

    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (
        await client.post(
            "/api/v1/applications", json={"lead_id": lead_id, "created_at": future}, headers=head
        )
    ).status_code == 422
    assert (
        await client.post(
            "/api/v1/applications",
            json={"lead_id": lead_id, "estimated_amount": "-1.00"},
            headers=head,
        )
    ).status_code == 422
    assert (
        await client.post("/api/v1/applications", json={"lead_id": "lead_x"}, headers=head)
    ).status_code == 404
    created = await client.post(
        "/api/v1/applications",
        json={
            "lead_id": lead_id,
            "created_at": "2026-11-16T09:00:00Z",
            "source_call_id": call["id"],
            "estimated_amount": "350000.00",
        },
        headers=head,
    )
    assert created.status_code == 201, created.text
    application = created.json()
    assert application["status"] == "open"
    assert application["estimated_amount"] == "350000.00"

    lost_without_reason = await client.patch(
        f"/api/v1/applications/{application['id']}", json={"status": "lost"}, headers=head
    )
    assert lost_without_reason.status_code == 422

    contract_body = {
        "application_id": application["id"],
        "signed_at": "2026-11-20T12:00:00Z",
        "amount": "400000.00",
        "margin": "120000.00",
    }
    too_early = await client.post(
        "/api/v1/contracts",
        json={**contract_body, "signed_at": "2026-11-15T12:00:00Z"},
        headers=head,
    )
    assert too_early.status_code == 422
    contract = await client.post("/api/v1/contracts", json=contract_body, headers=head)
    assert contract.status_code == 201, contract.text
    assert contract.json()["amount"] == "400000.00"
    assert contract.json()["lead_id"] == lead_id
    second = await client.post("/api/v1/contracts", json=contract_body, headers=head)
    assert second.status_code == 409

    won = (await client.get(f"/api/v1/applications/{application['id']}", headers=head)).json()
    assert won["status"] == "won"
    assert won["closed_at"] == "2026-11-20T12:00:00Z"
    lead = (await client.get(f"/api/v1/leads/{lead_id}", headers=head)).json()
    assert lead["status"] == "won"
    assert (
        await client.patch(
            f"/api/v1/applications/{application['id']}",
            json={"status": "lost", "lost_reason": "price"},
            headers=head,
        )
    ).status_code == 409
    listed = (
        await client.get("/api/v1/contracts", params={"from": "2026-11-20"}, headers=head)
    ).json()
    assert [c["id"] for c in listed["items"]] == [contract.json()["id"]]

    timeline = (await client.get(f"/api/v1/leads/{lead_id}/timeline", headers=head)).json()
    assert [entry["kind"] for entry in timeline] == ["call", "application", "contract"]
    assert timeline[0]["detail"]["recording_status"] == "pending"
    assert timeline[2]["detail"]["amount"] == "400000.00"


async def test_lost_and_reopened_application(client: AsyncClient, admin: dict[str, str]) -> None:
    lead = await create_lead(client, admin, company="L")
    application = (
        await client.post(
            "/api/v1/applications",
            json={"lead_id": lead["id"], "created_at": "2026-11-16T09:00:00Z"},
            headers=admin,
        )
    ).json()
    url = f"/api/v1/applications/{application['id']}"
    lost = await client.patch(
        url,
        json={"status": "lost", "lost_reason": "price", "closed_at": "2026-11-17T09:00:00Z"},
        headers=admin,
    )
    assert lost.json()["status"] == "lost"
    assert lost.json()["closed_at"] == "2026-11-17T09:00:00Z"
    contract = await client.post(
        "/api/v1/contracts",
        json={
            "application_id": application["id"],
            "signed_at": "2026-11-18T09:00:00Z",
            "amount": "1",
        },
        headers=admin,
    )
    assert contract.status_code == 409
    reopened = await client.patch(url, json={"status": "open"}, headers=admin)
    assert reopened.json()["lost_reason"] is None
    by_status = await client.get("/api/v1/applications", params={"status": "open"}, headers=admin)
    assert [a["id"] for a in by_status.json()["items"]] == [application["id"]]


async def test_scripts(client: AsyncClient, admin: dict[str, str], database: Database) -> None:
    created = await client.post(
        "/api/v1/scripts",
        json={"name": "First call v1", "kind": "first_call", "text": "Hello, ..."},
        headers=admin,
    )
    assert created.status_code == 201
    again = await client.post(
        "/api/v1/scripts", json={"name": "First call v1", "kind": "first_call"}, headers=admin
    )
    assert again.status_code == 409
    bad_kind = await client.post(
        "/api/v1/scripts", json={"name": "X", "kind": "third_call"}, headers=admin
    )
    assert bad_kind.status_code == 422
    v2 = await client.post(
        "/api/v1/scripts", json={"name": "First call v2", "kind": "first_call"}, headers=admin
    )
    listed = (await client.get("/api/v1/scripts", headers=admin)).json()["items"]
    assert [s["name"] for s in listed] == ["First call v1", "First call v2"]
    manager_key = bearer(await make_key(database, Role.HEAD))
    assert (
        await client.get(f"/api/v1/scripts/{v2.json()['id']}", headers=manager_key)
    ).status_code == 200
    assert (await client.get("/api/v1/scripts/scr_none", headers=admin)).status_code == 404


async def test_manager_sees_only_its_leads(
    client: AsyncClient, admin: dict[str, str], database: Database
) -> None:
    anna = (
        await client.post(
            "/api/v1/employees", json={"name": "Anna", "extensions": ["101"]}, headers=admin
        )
    ).json()
    boris = (
        await client.post(
            "/api/v1/employees", json={"name": "Boris", "extensions": ["102"]}, headers=admin
        )
    ).json()
    integration = await create_integration(client, admin, config=GENERIC, name="pbx")
    # Anna dials lead A first; Boris dials it later. Boris dials lead B. Lead C is Anna's by owner.
    start = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
    await deliver_call(client, integration, GENERIC, spec("a1", number="+79160000010", start=start))
    await deliver_call(
        client,
        integration,
        GENERIC,
        spec("a2", extension="102", number="+79160000010", start=start + timedelta(hours=1)),
    )
    await deliver_call(
        client,
        integration,
        GENERIC,
        spec("b1", extension="102", number="+79160000020", start=start),
    )
    owned = await create_lead(client, admin, company="C", owner_id=anna["id"])
    given_away = await create_lead(
        client, admin, company="D", phones=["+79160000030"], owner_id=boris["id"]
    )
    await deliver_call(client, integration, GENERIC, spec("d1", number="+79160000030", start=start))

    manager = bearer(await make_key(database, Role.MANAGER, anna["id"]))
    visible = (await client.get("/api/v1/leads", headers=manager)).json()["items"]
    by_phone = {tuple(lead["phones"]): lead for lead in visible}
    assert set(by_phone) == {("+79160000010",), ()}
    assert {lead["id"] for lead in visible} >= {owned["id"]}
    assert (
        await client.get(f"/api/v1/leads/{given_away['id']}", headers=manager)
    ).status_code == 404
    patch_other = await client.patch(
        f"/api/v1/leads/{given_away['id']}", json={"notes": "x"}, headers=manager
    )
    assert patch_other.status_code == 404

    mine = await client.post("/api/v1/leads", json={"company": "New"}, headers=manager)
    assert mine.status_code == 201
    assert mine.json()["owner_id"] == anna["id"]
    hand_over = await client.post(
        "/api/v1/leads", json={"company": "New2", "owner_id": boris["id"]}, headers=manager
    )
    assert hand_over.status_code == 403
    application = await client.post(
        "/api/v1/applications", json={"lead_id": owned["id"]}, headers=manager
    )
    assert application.status_code == 201
    foreign = await client.post(
        "/api/v1/applications", json={"lead_id": given_away["id"]}, headers=manager
    )
    assert foreign.status_code == 404
    listed = (await client.get("/api/v1/applications", headers=manager)).json()["items"]
    assert [a["id"] for a in listed] == [application.json()["id"]]
    contract = await client.post(
        "/api/v1/contracts",
        json={
            "application_id": application.json()["id"],
            "signed_at": "2026-11-20T00:00:00Z",
            "amount": "10.00",
        },
        headers=manager,
    )
    assert contract.status_code == 403
    assert (await client.delete(f"/api/v1/leads/{owned['id']}", headers=manager)).status_code == 403


@pytest.mark.parametrize("role", [Role.HEAD])
async def test_head_reads_and_writes_all(
    client: AsyncClient, admin: dict[str, str], database: Database, role: Role
) -> None:
    lead = await create_lead(client, admin, company="H")
    key = bearer(await make_key(database, role))
    assert (await client.get(f"/api/v1/leads/{lead['id']}", headers=key)).status_code == 200
    patched = await client.patch(
        f"/api/v1/leads/{lead['id']}", json={"segment": "SMB"}, headers=key
    )
    assert patched.json()["segment"] == "SMB"
