"""GET /api/v1/metrics/funnel: the worked example's four answers, exactly, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from app.auth.roles import Role
from app.db import Database
from tests.factories import bearer, make_key
from tests.metrics.compare import assert_same
from tests.metrics.loading import load_dataset
from tests.metrics.worked_example import CASES, DATASET


@pytest.fixture
async def worked(database: Database) -> None:
    await load_dataset(database, DATASET)


async def _funnel(client: AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/metrics/funnel", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['query']['mode']}-{c['query']['as_of']}")
async def test_worked_example(
    client: AsyncClient, head: dict[str, str], worked: None, case: dict[str, Any]
) -> None:
    body = await _funnel(client, head, **case["query"])
    assert_same(body["total"], case["result"])
    assert body["currency"] == "RUB"
    assert body["period"] == {
        "from": "2026-11-15T21:00:00Z",
        "to": "2026-11-22T21:00:00Z",
        "timezone": "Europe/Moscow",
        "mode": case["query"]["mode"],
        "as_of": case["query"]["as_of"],
    }
    assert body["groups"] is None


@pytest.mark.parametrize("group_by", ["employee", "campaign", "script", "week"])
async def test_groups_add_up(
    client: AsyncClient, head: dict[str, str], worked: None, group_by: str
) -> None:
    query = CASES[0]["query"]
    body = await _funnel(client, head, **query, group_by=group_by)
    total, groups = body["total"], body["groups"]
    for field in ("dials", "leads_dialed", "talk_seconds"):
        assert sum(group[field] for group in groups) == total[field]
    for stage in range(5):
        assert sum(g["stages"][stage]["count"] for g in groups) == total["stages"][stage]["count"]
    if group_by == "employee":
        assert {(g["key"], g["label"]) for g in groups} == {("e1", "Anna"), ("e2", "Boris")}


async def test_manager_sees_the_funnel_of_its_leads(
    client: AsyncClient, head: dict[str, str], database: Database, worked: None
) -> None:
    query = CASES[0]["query"]
    grouped = await _funnel(client, head, **query, group_by="employee")
    anna_group = next(g for g in grouped["groups"] if g["key"] == "e1")
    anna = bearer(await make_key(database, Role.MANAGER, "e1"))
    mine = await _funnel(client, anna, **query)
    assert mine["total"]["leads_dialed"] == anna_group["leads_dialed"]
    assert mine["total"]["dials"] == anna_group["dials"]
    assert mine["total"]["economics"]["cost"] == anna_group["economics"]["cost"]
    # A manager cannot look at someone else's leads through the filter.
    other = await _funnel(client, anna, **query, employee_id="e2")
    assert other["total"]["leads_dialed"] == anna_group["leads_dialed"]
    filtered = await _funnel(client, head, **query, employee_id="e2")
    assert filtered["total"]["leads_dialed"] == 5 - anna_group["leads_dialed"]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"from": "2026-11-16", "to": "2026-11-23", "mode": "sideways"}, "mode"),
        ({"from": "2026-11-23", "to": "2026-11-16"}, "to"),
        ({"from": "2026-11-16"}, "to"),
        ({"from": "yesterday", "to": "2026-11-23"}, "from"),
        ({"from": "2026-11-16", "to": "2026-11-23", "as_of": "soon"}, "as_of"),
        (
            {"from": "2024-01-01", "to": "2026-01-01", "mode": "activity", "group_by": "week"},
            "group_by",
        ),
        ({"from": "2026-11-16", "to": "2026-11-23", "group_by": "moon"}, "group_by"),
    ],
)
async def test_bad_parameters_are_422(
    client: AsyncClient, head: dict[str, str], params: dict[str, str], loc: str
) -> None:
    response = await client.get("/api/v1/metrics/funnel", params=params, headers=head)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert ["query", loc] in [error["loc"] for error in response.json()["errors"]]


async def test_default_period_is_the_last_full_week(
    client: AsyncClient, head: dict[str, str]
) -> None:
    body = await _funnel(client, head)
    assert body["total"]["leads_dialed"] == 0
    assert body["total"]["stages"][0]["conversion"] is None
