"""Cases open when the period starts: the SQL must reach back exactly as far as they do.

The period is the week of Monday 2026-11-16 (Moscow). Each lead's history crosses its start:

- A: missed on Sunday evening, missed again on Monday morning: the Monday call joins Sunday's
  case, so the period has no case of A;
- B: the same, but reached by a callback early on Monday: Monday's later missed call opens a case;
- C: a chain of cases reaching two windows back: Friday's case takes Saturday's call, Sunday's
  call (after Friday's deadline) opens a case that Monday noon's call joins. Reading only one
  window back would open Saturday's case instead, let it expire on Monday 11:00 and count a case
  at noon.
"""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from app.db import Database
from tests.metrics.loading import load_dataset


def _call(call_id: str, lead: str, direction: str, utc: str, talk: int = 0) -> dict[str, Any]:
    return {
        "id": call_id,
        "lead_id": lead,
        "employee_id": "e1",
        "direction": direction,
        "started_at": utc,
        "answered_at": None,
        "ended_at": None,
        "answered": talk > 0,
        "talk_seconds": talk,
        "duration_seconds": talk + 20,
        "outcome": None,
        "script_id": None,
    }


DATASET: dict[str, Any] = {
    "employees": [{"id": "e1", "name": "Anna", "extensions": ["101"]}],
    "leads": [
        {"id": lead, "company": lead, "phones": [f"+7900000010{n}"], "owner_id": None}
        for n, lead in enumerate(("A", "B", "C"))
    ],
    "calls": [
        # Times in UTC; Moscow is UTC+3.
        _call("a1", "A", "inbound", "2026-11-15T17:00:00Z"),  # Sun 20:00
        _call("a2", "A", "inbound", "2026-11-16T07:00:00Z"),  # Mon 10:00
        _call("b1", "B", "inbound", "2026-11-15T17:00:00Z"),  # Sun 20:00
        _call("b2", "B", "outbound", "2026-11-16T06:30:00Z", talk=40),  # Mon 09:30, reached
        _call("b3", "B", "inbound", "2026-11-16T07:00:00Z"),  # Mon 10:00
        _call("c1", "C", "inbound", "2026-11-13T09:00:00Z"),  # Fri 12:00
        _call("c2", "C", "inbound", "2026-11-14T08:00:00Z"),  # Sat 11:00
        _call("c3", "C", "inbound", "2026-11-15T10:00:00Z"),  # Sun 13:00
        _call("c4", "C", "inbound", "2026-11-16T09:00:00Z"),  # Mon 12:00
    ],
    "applications": [],
    "contracts": [],
    "settings": {"timezone": "Europe/Moscow"},
}


@pytest.fixture
async def history(database: Database) -> None:
    await load_dataset(database, DATASET)


async def test_cases_open_at_the_start_swallow_the_periods_missed_calls(
    client: AsyncClient, head: dict[str, str], history: None
) -> None:
    response = await client.get(
        "/api/v1/metrics/callbacks",
        params={"from": "2026-11-16", "to": "2026-11-23", "as_of": "2026-11-25T12:00:00Z"},
        headers=head,
    )
    assert response.status_code == 200, response.text
    total = response.json()["total"]
    assert total["cases"] == 1
    assert total["missed_calls"] == 1
    cases = await client.get(
        "/api/v1/callbacks",
        params={"from": "2026-11-10", "as_of": "2026-11-25T12:00:00Z"},
        headers=head,
    )
    found = sorted(
        (case["first_missed_call_id"], case["missed_calls"]) for case in cases.json()["items"]
    )
    assert found == [("a1", 2), ("b1", 1), ("b3", 1), ("c1", 2), ("c3", 2)]
