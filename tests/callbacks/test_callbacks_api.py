"""The callbacks example through the API, exactly, on both databases: the four queries, the case
list, the work list, role scoping and validation."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from app.auth.roles import Role
from app.db import Database
from tests.callbacks.example import CASES, CASES_AS_OF, DATASET, QUERIES
from tests.factories import bearer, make_key
from tests.metrics.compare import assert_same
from tests.metrics.loading import load_dataset

PERIOD = {"from": "2026-11-16", "to": "2026-11-23"}
CASE_FIELDS = tuple(CASES[0])


@pytest.fixture
async def example(database: Database) -> None:
    await load_dataset(database, DATASET)


async def _get(
    client: AsyncClient, path: str, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _metrics(client: AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    query = {key: value for key, value in params.items() if value is not None}
    return await _get(client, "/api/v1/metrics/callbacks", headers, **query)


@pytest.mark.parametrize(
    "case", QUERIES, ids=lambda c: f"{c['query']['group_by']}-{c['query']['as_of']}"
)
async def test_example_figures(
    client: AsyncClient, head: dict[str, str], example: None, case: dict[str, Any]
) -> None:
    body = await _metrics(client, head, **case["query"])
    expected = case["result"]
    assert_same(body["total"], expected["total"])
    assert body["period"] == {
        "from": "2026-11-15T21:00:00Z",
        "to": "2026-11-22T21:00:00Z",
        "timezone": "Europe/Moscow",
        "as_of": case["query"]["as_of"],
    }
    assert body["settings"] == DATASET["settings"]["callbacks"]
    if case["query"]["group_by"] is None:
        assert body["groups"] is None
        return
    labels = {group["key"]: group.pop("label") for group in body["groups"]}
    assert_same(body["groups"], expected["groups"])
    if case["query"]["group_by"] == "employee":
        assert labels == {"e1": "Anna", "e2": "Boris"}
    else:
        assert labels[1] == "Mon"
        assert labels[7] == "Sun"


@pytest.mark.parametrize("group_by", ["employee", "day", "weekday", "hour"])
async def test_groups_add_up(
    client: AsyncClient, head: dict[str, str], example: None, group_by: str
) -> None:
    body = await _metrics(client, head, **PERIOD, as_of=CASES_AS_OF, group_by=group_by)
    total, groups = body["total"], body["groups"]
    for field, value in total.items():
        if isinstance(value, int):
            assert sum(group[field] for group in groups) == value, field
    if group_by == "day":
        assert [g["key"] for g in groups] == sorted(g["key"] for g in groups)
        assert groups[0]["key"] == "2026-11-16"
    if group_by == "hour":
        # Opened at 10:00 local (07:00Z) in the period: L1, L5, L9 (its first case), L12.
        ten = next(g for g in groups if g["key"] == 10)
        assert ten["cases"] == 4
        assert ten["label"] == "10:00"


async def test_case_list(client: AsyncClient, head: dict[str, str], example: None) -> None:
    body = await _get(
        client, "/api/v1/callbacks", head, **{"from": "2026-11-01", "as_of": CASES_AS_OF}
    )
    items = body["items"]
    assert body["next_cursor"] is None
    # Newest first.
    assert [item["opened_at"] for item in items] == sorted(
        (item["opened_at"] for item in items), reverse=True
    )
    got = sorted(
        ({key: item[key] for key in CASE_FIELDS} for item in items),
        key=lambda c: (c["lead_id"], c["opened_at"]),
    )
    expected = sorted(CASES, key=lambda c: (c["lead_id"], c["opened_at"]))
    assert got == expected
    l10 = next(item for item in items if item["lead_id"] == "L10")
    assert (l10["company"], l10["phone"]) == ("Company 10", "+79000000010")
    # 12:00 local on a Thursday: the SLA clock reaches 15 minutes at 12:15 local.
    assert l10["sla_deadline"] == "2026-11-19T09:15:00Z"
    assert l10["deadline"] == "2026-11-21T09:00:00Z"
    l3 = next(item for item in items if item["lead_id"] == "L3")
    # Opened 17:55 local Monday: 5 minutes that evening, 10 more from 09:00 Tuesday.
    assert l3["sla_deadline"] == "2026-11-17T06:10:00Z"


async def test_case_list_default_range_and_status(
    client: AsyncClient, head: dict[str, str], example: None
) -> None:
    everything = await _get(client, "/api/v1/callbacks", head, as_of=CASES_AS_OF)
    assert len(everything["items"]) == len(CASES)
    lost = await _get(client, "/api/v1/callbacks", head, status="lost", as_of=CASES_AS_OF)
    assert sorted(item["first_missed_call_id"] for item in lost["items"]) == sorted(
        case["first_missed_call_id"] for case in CASES if case["status"] == "lost"
    )
    assert {item["status"] for item in lost["items"]} == {"lost"}


async def test_work_list_is_oldest_first_with_sla_deadline(
    client: AsyncClient, head: dict[str, str], database: Database, example: None
) -> None:
    # As of Monday 10:00 local, L8's Sunday-evening case is waiting (the callback came at 11:00).
    body = await _get(
        client, "/api/v1/callbacks", head, status="pending", as_of="2026-11-23T07:00:00Z"
    )
    (item,) = body["items"]
    assert item["lead_id"] == "L8"
    assert item["status"] == "pending"
    assert item["first_attempt_at"] is None
    assert item["out_of_hours"] is True
    # Opened Sunday 20:00 local: the SLA clock starts Monday 09:00 and reaches 15 min at 09:15.
    assert item["sla_deadline"] == "2026-11-23T06:15:00Z"
    assert item["sla"] == "breached"


async def test_pagination_walks_every_case_once(
    client: AsyncClient, head: dict[str, str], example: None
) -> None:
    for status in (None, "pending", "lost", "contacted"):
        params: dict[str, Any] = {"from": "2026-11-01", "as_of": CASES_AS_OF, "limit": 2}
        if status:
            params["status"] = status
        seen: list[str] = []
        while True:
            page = await _get(client, "/api/v1/callbacks", head, **params)
            seen += [item["first_missed_call_id"] for item in page["items"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        wanted = [c for c in CASES if status is None or c["status"] == status]
        assert sorted(seen) == sorted(c["first_missed_call_id"] for c in wanted)
        assert len(seen) == len(set(seen))


async def test_manager_sees_its_own_cases(
    client: AsyncClient, head: dict[str, str], database: Database, example: None
) -> None:
    grouped = await _metrics(client, head, **PERIOD, as_of=CASES_AS_OF, group_by="employee")
    anna_group = next(g for g in grouped["groups"] if g["key"] == "e1")
    anna = bearer(await make_key(database, Role.MANAGER, "e1"))
    mine = await _metrics(client, anna, **PERIOD, as_of=CASES_AS_OF)
    anna_group.pop("key"), anna_group.pop("label")
    assert mine["total"] == anna_group
    # The filter cannot widen a manager's view.
    other = await _metrics(client, anna, **PERIOD, as_of=CASES_AS_OF, employee_id="e2")
    assert other["total"] == anna_group
    boris = await _metrics(client, head, **PERIOD, as_of=CASES_AS_OF, employee_id="e2")
    assert boris["total"]["cases"] == grouped["total"]["cases"] - anna_group["cases"]
    listed = await _get(client, "/api/v1/callbacks", anna, as_of=CASES_AS_OF)
    assert listed["items"]
    assert {item["owner_id"] for item in listed["items"]} == {"e1"}
    assert len(listed["items"]) == sum(1 for case in CASES if case["owner_id"] == "e1")
    listed = await _get(client, "/api/v1/callbacks", anna, as_of=CASES_AS_OF, employee_id="e2")
    assert {item["owner_id"] for item in listed["items"]} == {"e1"}


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/api/v1/metrics/callbacks", {"from": "2026-11-16"}, 422),
        ("/api/v1/metrics/callbacks", {"from": "2026-11-23", "to": "2026-11-16"}, 422),
        ("/api/v1/metrics/callbacks", {"from": "someday", "to": "2026-11-16"}, 422),
        ("/api/v1/metrics/callbacks", {"group_by": "campaign"}, 422),
        ("/api/v1/metrics/callbacks", {"as_of": "never"}, 422),
        ("/api/v1/metrics/callbacks", {"from": "2020-01-01", "to": "2026-01-01"}, 422),
        ("/api/v1/callbacks", {"status": "open"}, 422),
        ("/api/v1/callbacks", {"from": "2026-11-23", "to": "2026-11-16"}, 422),
        ("/api/v1/callbacks", {"cursor": "not a cursor"}, 400),
        ("/api/v1/callbacks", {"limit": 0}, 422),
    ],
)
async def test_bad_queries_are_problems(
    client: AsyncClient,
    head: dict[str, str],
    path: str,
    params: dict[str, Any],
    status: int,
) -> None:
    response = await client.get(path, params=params, headers=head)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_needs_a_key(client: AsyncClient) -> None:
    for path in ("/api/v1/metrics/callbacks", "/api/v1/callbacks"):
        assert (await client.get(path)).status_code == 401


async def test_empty_database_gives_zero_figures(client: AsyncClient, head: dict[str, str]) -> None:
    body = await _metrics(client, head, **PERIOD, group_by="employee")
    assert body["total"]["cases"] == 0
    assert body["total"]["within_sla_rate"] is None
    assert body["total"]["time_to_contact_seconds"] == {"median": None, "p90": None}
    assert body["groups"] == []
    assert (await _get(client, "/api/v1/callbacks", head))["items"] == []
