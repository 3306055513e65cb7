"""The Callbacks page: the API's work list and figures per manager, for the same query."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from app.auth.roles import Role
from app.db import Database
from tests.callbacks.example import CASES_AS_OF, DATASET
from tests.dashboard.browsing import browser
from tests.dashboard.pages import figures_of
from tests.factories import bearer, make_key
from tests.metrics.loading import load_dataset

PERIOD = {"from": "2026-11-16", "to": "2026-11-23"}
WORK_AS_OF = "2026-11-23T07:00:00Z"
COLUMNS = ("missed_calls", "cases", "called_back", "contacted", "lost", "hot_lost", "pending")


@pytest.fixture
async def example(database: Database) -> None:
    await load_dataset(database, DATASET)


async def _api(client: AsyncClient, path: str, headers: dict[str, str], **query: str) -> Any:
    answer = await client.get(path, params=query, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _work_list(figures: dict[str, str]) -> list[str]:
    rows = sorted(
        (int(name.split("-")[1]), value)
        for name, value in figures.items()
        if name.startswith("case-")
    )
    return [value for _, value in rows]


@pytest.mark.parametrize(("role", "employee"), [(Role.HEAD, None), (Role.MANAGER, "e1")])
async def test_figures_and_work_list_are_the_apis(
    app: object,
    client: AsyncClient,
    database: Database,
    example: None,
    role: Role,
    employee: str | None,
) -> None:
    async with browser(app, database, role, employee) as page:
        answer = await page.get("/callbacks", params={**PERIOD, "as_of": CASES_AS_OF})
        work = await page.get("/callbacks", params={"as_of": WORK_AS_OF})
    assert answer.status_code == 200, answer.text
    # The API asked with a key of the same role as the page's session.
    key = bearer(await make_key(database, role, employee))
    metrics = await _api(
        client, "/api/v1/metrics/callbacks", key, **PERIOD, as_of=CASES_AS_OF, group_by="employee"
    )
    figures = figures_of(answer)
    groups = [*metrics["groups"], {**metrics["total"], "key": "total"}]
    for group in groups:
        for column in (*COLUMNS, "within_sla_rate"):
            shown = figures[f"{group['key'] or 'none'}-{column}"]
            assert shown == str(group[column]), (group["key"], column)
    assert {g["key"] for g in metrics["groups"]} == ({"e1", "e2"} if employee is None else {"e1"})
    pending = await _api(client, "/api/v1/callbacks", key, status="pending", as_of=WORK_AS_OF)
    # The head's list has the example's waiting cases; Anna (e1) has none at that moment.
    assert len(pending["items"]) == (0 if employee else 1)
    assert _work_list(figures_of(work)) == [
        f"{item['lead_id']}|{item['sla']}" for item in pending["items"]
    ]
