"""Call statistics, and each lead's funnel stage in the leads list."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient

from app.auth.roles import Role
from app.db import Database
from tests.factories import bearer, make_key
from tests.metrics.loading import load_dataset
from tests.metrics.worked_example import DATASET

WEEK = {"from": "2026-11-16", "to": "2026-11-23"}


@pytest.fixture
async def worked(database: Database) -> None:
    await load_dataset(database, DATASET)


async def _stats(client: AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/metrics/calls", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_call_totals(client: AsyncClient, head: dict[str, str], worked: None) -> None:
    total = (await _stats(client, head, **WEEK))["total"]
    assert total["calls"] == 16  # c1–c11, c13–c17: c12 is the week before, c18 after
    assert (total["outbound"], total["inbound"]) == (13, 2)  # and one internal call
    assert total["answered"] == 14
    assert total["answer_rate"] == 14 / 16
    assert total["talk_seconds"] == 1408
    assert math.isclose(total["avg_talk_seconds"], 1408 / 14)
    assert total["missed_inbound"] == 0


@pytest.mark.parametrize("group_by", ["employee", "day", "hour", "weekday", "weekday_hour"])
async def test_groups_add_up(
    client: AsyncClient, head: dict[str, str], worked: None, group_by: str
) -> None:
    body = await _stats(client, head, **WEEK, group_by=group_by)
    for field in ("calls", "outbound", "inbound", "answered", "talk_seconds", "missed_inbound"):
        assert sum(group[field] for group in body["groups"]) == body["total"][field]
    keys = [group["key"] for group in body["groups"]]
    assert keys == sorted(keys)


async def test_weekdays_and_employees_in_moscow(
    client: AsyncClient, head: dict[str, str], worked: None, database: Database
) -> None:
    weekdays = await _stats(client, head, **WEEK, group_by="weekday")
    assert [(g["label"], g["calls"]) for g in weekdays["groups"]] == [
        ("Mon", 3),
        ("Tue", 4),
        ("Wed", 4),
        ("Thu", 2),
        ("Fri", 1),
        ("Sat", 2),
    ]
    cells = await _stats(client, head, **WEEK, group_by="weekday_hour")
    monday = [(g["key"], g["label"], g["calls"]) for g in cells["groups"] if g["key"] < "2"]
    # c1 10:00 and c4 10:30 Moscow (07:00 and 07:30 UTC), c2 13:00
    assert monday == [("1-10", "Mon 10:00", 2), ("1-13", "Mon 13:00", 1)]
    employees = await _stats(client, head, **WEEK, group_by="employee")
    assert [(g["key"], g["label"], g["calls"]) for g in employees["groups"]] == [
        ("e1", "Anna", 10),
        ("e2", "Boris", 6),
    ]
    boris = bearer(await make_key(database, Role.MANAGER, "e2"))
    assert (await _stats(client, boris, **WEEK))["total"]["calls"] == 6
    bad = await client.get("/api/v1/metrics/calls", params={"group_by": "moon"}, headers=head)
    assert bad.status_code == 422


async def test_lead_stages(client: AsyncClient, head: dict[str, str], database: Database) -> None:
    day = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)

    def call(n: int, lead: str, talk: int, outcome: str | None, hours: int = 0) -> dict[str, Any]:
        return {
            "id": f"c{n}",
            "lead_id": lead,
            "employee_id": "e1",
            "direction": "outbound",
            "started_at": (day + timedelta(hours=hours)).isoformat(),
            "answered": talk > 0,
            "talk_seconds": talk,
            "duration_seconds": talk + 10,
            "outcome": outcome,
        }

    leads = ["A", "B", "C", "D", "E", "F", "G"]
    await load_dataset(
        database,
        {
            "employees": [{"id": "e1", "name": "Anna", "extensions": ["101"]}],
            "leads": [{"id": lead, "phones": [f"+7900000000{n}"]} for n, lead in enumerate(leads)],
            "calls": [
                call(1, "A", 0, None),
                call(2, "B", 40, "secretary"),
                call(3, "C", 90, "presented"),
                call(4, "D", 90, None),
                call(5, "D", 200, None, hours=5),  # a second call, hours after the first
                call(6, "E", 20, None),
                call(7, "F", 20, None),
            ],
            "applications": [
                {"id": "a1", "lead_id": "E", "created_at": day.isoformat(), "status": "open"},
                {"id": "a2", "lead_id": "F", "created_at": day.isoformat(), "status": "won"},
            ],
            "contracts": [
                {
                    "id": "k1",
                    "application_id": "a2",
                    "signed_at": (day + timedelta(days=1)).isoformat(),
                    "amount": "1000.00",
                }
            ],
            "settings": DATASET["settings"],
        },
    )
    listed = (await client.get("/api/v1/leads", headers=head)).json()["items"]
    assert {lead["id"]: lead["stage"] for lead in listed} == {
        "A": 0,
        "B": 1,
        "C": 2,
        "D": 3,
        "E": 4,
        "F": 5,
        "G": 0,
    }
    for stage, expected in ((0, ["A", "G"]), (2, ["C"]), (5, ["F"])):
        response = await client.get("/api/v1/leads", params={"stage": stage}, headers=head)
        assert [lead["id"] for lead in response.json()["items"]] == expected
    single = (await client.get("/api/v1/leads/D", headers=head)).json()
    assert single["stage"] == 3
    bad = await client.get("/api/v1/leads", params={"stage": 6}, headers=head)
    assert bad.status_code == 422
