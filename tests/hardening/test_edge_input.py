"""F1.1, F1.3, F1.4, F3.1–F3.3: the same input gets the same clear answer on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select

from app.calls.models import Call
from app.db import Database
from app.webhooks.models import WebhookEvent
from tests.factories import create_lead
from tests.hardening.support import Office, ended_event, post_event


@pytest.fixture
async def office(client: AsyncClient, database: Database) -> Office:
    return await Office.build(client, database)


NUL_GETS = [
    "/api/v1/calls/x%00y",
    "/api/v1/leads?q=a%00b",
    "/api/v1/leads?campaign=a%00",
    "/api/v1/calls?lead_id=lead_%00",
    "/api/v1/applications?lead_id=%00",
    "/api/v1/leads/lead_x%00/timeline",
]


@pytest.mark.parametrize("path", NUL_GETS)
async def test_nul_in_path_or_query_is_422_for_every_role(
    client: AsyncClient, office: Office, path: str
) -> None:
    for key in (office.anna, office.admin):
        response = await client.get(path, headers=key)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "NUL" in response.json()["detail"]


async def test_nul_in_json_text_is_422_and_nothing_is_stored(
    client: AsyncClient, office: Office
) -> None:
    lead = await create_lead(client, office.anna, company="Acme", phones=["+79160000001"])
    bodies: list[tuple[str, str, dict[str, Any]]] = [
        ("PATCH", f"/api/v1/leads/{lead['id']}", {"notes": "a\u0000b"}),
        ("POST", "/api/v1/leads", {"company": "x\u0000", "phones": ["+79160000002"]}),
        ("POST", f"/api/v1/leads/{lead['id']}/merge", {"into": "x\u0000"}),
        ("POST", "/api/v1/scripts", {"name": "n\u0000", "kind": "first_call", "text": "t"}),
    ]
    for method, path, body in bodies:
        response = await client.request(method, path, json=body, headers=office.anna)
        assert response.status_code in (403, 422), (path, response.text)
    admin_bodies: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/v1/employees", {"name": "E\u0000", "extensions": []}),
        ("POST", "/api/v1/api-keys", {"name": "k\u0000", "role": "head"}),
        (
            "POST",
            "/api/v1/integrations",
            {"provider": "generic", "name": "a\u0000b", "config": {"secret": "nulprobe-secret"}},
        ),
    ]
    for method, path, body in admin_bodies:
        response = await client.request(method, path, json=body, headers=office.admin)
        assert response.status_code == 422, (path, response.text)
    again = await client.get(f"/api/v1/leads/{lead['id']}", headers=office.anna)
    assert again.json()["notes"] is None
    listed = await client.get("/api/v1/leads", headers=office.admin)
    assert [item["company"] for item in listed.json()["items"]] == ["Acme"]


async def test_csv_cells_with_nul_are_row_errors(client: AsyncClient, office: Office) -> None:
    csv = "company,phone\nGood,+79160000011\nBa\u0000d,+79160000012\n".encode()
    response = await client.post(
        "/api/v1/leads/import",
        files={"file": ("leads.csv", csv, "text/csv")},
        headers=office.admin,
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["created"] == 1
    assert [error["row"] for error in answer["errors"]] == [3]


async def test_patch_employee_with_null_is_422(client: AsyncClient, office: Office) -> None:
    for body in (
        {"active": None, "extensions": ["9901"]},
        {"active": None},
        {"name": None},
    ):
        response = await client.patch(
            f"/api/v1/employees/{office.anna_id}", json=body, headers=office.admin
        )
        assert response.status_code == 422, (body, response.text)
    fine = await client.patch(
        f"/api/v1/employees/{office.anna_id}", json={"active": False}, headers=office.admin
    )
    assert fine.status_code == 200
    assert fine.json()["active"] is False


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/calls?from=0001-01-01&to=0001-01-02",
        "/api/v1/calls?from=9999-12-31",
        "/api/v1/metrics/funnel?from=0001-01-01&to=0001-02-01",
        "/api/v1/metrics/funnel?from=2026-11-01&to=9999-12-31",
        "/api/v1/leads?stage=3&as_of=0001-01-01",
    ],
)
async def test_extreme_dates_in_queries_are_422(
    client: AsyncClient, office: Office, path: str
) -> None:
    for key in (office.anna, office.admin):
        response = await client.get(path, headers=key)
        assert response.status_code in (422, 200), (path, response.text)
        if "as_of" not in path:
            assert response.status_code == 422, (path, response.text)


@pytest.mark.parametrize("week", ["9999-W52", "0001-W10", "0001-W03", "9999-W51"])
async def test_extreme_report_weeks_are_422(client: AsyncClient, office: Office, week: str) -> None:
    response = await client.get(f"/api/v1/reports/weekly?week={week}", headers=office.head)
    assert response.status_code == 422, response.text


async def _count(database: Database, model: Any, integration_id: str) -> int:
    async with database.unit_of_work(read_only=True) as session:
        query = (
            select(func.count()).select_from(model).where(model.integration_id == integration_id)
        )
        return int((await session.execute(query)).scalar_one())


BAD_EVENTS = {
    "nul call_id": {"call_id": "c\u0000all"},
    "nul extension": {"extension": "1\u00000"},
    "long call_id": {"call_id": "c" * 10_000},
    "long extension": {"extension": "1" * 50_000},
    "2^31 seconds": {"talk_seconds": 2**31},
    "zero time": {
        "started_at": "0001-01-01T00:00:00Z",
        "answered_at": "0001-01-01T00:00:05Z",
        "ended_at": "0001-01-01T00:01:00Z",
        "occurred_at": "0001-01-01T00:01:00Z",
    },
    "year 9999": {"started_at": "9999-01-01T00:00:00Z", "ended_at": "9999-01-01T00:05:00Z"},
}


@pytest.mark.parametrize("case", sorted(BAD_EVENTS))
async def test_unstorable_events_are_failed_alike(
    client: AsyncClient, database: Database, office: Office, case: str
) -> None:
    event = ended_event(f"bad-{len(case)}", "call-bad") | BAD_EVENTS[case]
    response = await post_event(client, office.integration_id, event)
    assert response.status_code == 200, response.text
    events = await client.get(
        f"/api/v1/webhook-events?integration_id={office.integration_id}", headers=office.admin
    )
    (stored,) = events.json()["items"]
    assert stored["status"] == "failed"
    assert stored["error"]
    assert await _count(database, Call, office.integration_id) == 0
    assert await _count(database, WebhookEvent, office.integration_id) == 1


async def test_a_batch_with_one_unstorable_event_keeps_the_others(
    client: AsyncClient, database: Database, office: Office
) -> None:
    batch = {
        "events": [ended_event(f"ok-{n}", f"call-{n}", number=f"+7916000{n:04d}") for n in range(5)]
        + [ended_event("bad", "c\u0000")]
    }
    response = await post_event(client, office.integration_id, batch)
    assert response.status_code == 200, response.text
    assert await _count(database, Call, office.integration_id) == 5
    assert await _count(database, WebhookEvent, office.integration_id) == 6


async def test_deeply_nested_signed_json_is_422(
    client: AsyncClient, database: Database, office: Office
) -> None:
    body = b'{"event_id":"deep","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = await post_event(client, office.integration_id, body)
    assert response.status_code == 422, response.text
    assert await _count(database, WebhookEvent, office.integration_id) == 0
