"""The leads' stage filter, from the kept evidence: the API's ``?stage=``, the dashboard's Leads
page and a manager page's counts give the leads a plain-Python reading of docs/metrics.md gives."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient

from app.auth.roles import Role
from app.db import Database
from app.settings.schemas import EconomicsSettings
from tests.dashboard.pages import figures_of, signed_in
from tests.factories import bearer, make_key
from tests.metrics.loading import load_dataset
from tests.metrics.reference import calls_from_dataset, evidence_times, lead_calls, parse_time
from tests.metrics.worked_example import DATASET

STAGES = range(6)


def _dataset() -> dict[str, Any]:
    """The worked example, plus two leads whose only evidence is after now: by now, they have
    none (the kept instants are compared with the moment asked, not merely present)."""
    data = copy.deepcopy(DATASET)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat()
    data["leads"] += [
        {"id": "L_future_call", "phones": ["+79000000901"]},
        {"id": "L_future_application", "phones": ["+79000000902"]},
    ]
    data["calls"].append(
        {
            "id": "c_future",
            "lead_id": "L_future_call",
            "employee_id": "e1",
            "direction": "outbound",
            "started_at": tomorrow,
            "answered": True,
            "talk_seconds": 300,
            "duration_seconds": 310,
            "outcome": "need_identified",
        }
    )
    data["applications"].append(
        {
            "id": "a_future",
            "lead_id": "L_future_application",
            "created_at": tomorrow,
            "status": "open",
        }
    )
    return data


def expected_stages(data: dict[str, Any], as_of: datetime) -> dict[str, int]:
    """docs/metrics.md → Evidence of each stage, monotonic, by ``as_of``: every lead's stage."""
    settings = EconomicsSettings.model_validate(data["settings"])
    calls = lead_calls(calls_from_dataset(data["calls"]))
    applied = {a["lead_id"] for a in data["applications"] if parse_time(a["created_at"]) <= as_of}
    lead_of = {a["id"]: a["lead_id"] for a in data["applications"]}
    signed = {
        lead_of[k["application_id"]]
        for k in data["contracts"]
        if parse_time(k["signed_at"]) <= as_of
    }
    stages = {}
    for lead in (lead["id"] for lead in data["leads"]):
        reached, conversation, second = evidence_times(calls.get(lead, []), settings, as_of)
        stages[lead] = (
            5
            if lead in signed
            else 4
            if lead in applied
            else 3
            if second
            else 2
            if conversation
            else 1
            if reached
            else 0
        )
    return stages


async def _ids(client: AsyncClient, key: dict[str, str], **params: Any) -> list[str]:
    """Every lead of the API's list for ``params``, walked one page of two at a time."""
    ids: list[str] = []
    cursor = None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        answer = await client.get("/api/v1/leads", params=query, headers=key)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        if "stage" in params:
            assert {lead["stage"] for lead in page["items"]} <= {params["stage"]}
        ids += [lead["id"] for lead in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


@pytest.mark.parametrize(("role", "employee"), [(Role.ADMIN, None), (Role.MANAGER, "e1")])
async def test_the_stage_filter_gives_the_rules_stages(
    client: AsyncClient, database: Database, role: Role, employee: str | None
) -> None:
    data = _dataset()
    await load_dataset(database, data)
    expected = expected_stages(data, datetime.now(UTC))
    assert expected["L_future_call"] == expected["L_future_application"] == 0
    assert len(set(expected.values())) >= 5, "the example spans the stages"
    raw_key = await make_key(database, role, employee)
    key = bearer(raw_key)
    readable = await _ids(client, key)
    assert readable == sorted(readable)
    if role is Role.MANAGER:
        assert 0 < len(readable) < len(expected)
    await signed_in(client, raw_key)
    for stage in STAGES:
        wanted = sorted(lead for lead in readable if expected[lead] == stage)
        assert await _ids(client, key, stage=stage) == wanted, stage
        page = await client.get("/leads", params={"stage": stage, "limit": 200})
        assert page.status_code == 200, page.text
        assert re.findall(r'data-lead="([^"]+)"', page.text) == wanted, stage


async def test_a_managers_page_counts_its_leads_by_stage(
    client: AsyncClient, database: Database
) -> None:
    data = _dataset()
    await load_dataset(database, data)
    expected = expected_stages(data, datetime.now(UTC))
    anna = bearer(await make_key(database, Role.MANAGER, "e1"))
    hers = await _ids(client, anna)
    await signed_in(client, await make_key(database, Role.HEAD))
    page = await client.get("/managers/e1")
    assert page.status_code == 200, page.text
    figures = figures_of(page)
    counts = {stage: sum(expected[lead] == stage for lead in hers) for stage in STAGES}
    assert {stage: int(figures[f"stage.{stage}"]) for stage in STAGES} == counts
    assert sum(counts.values()) == len(hers)
    # The waiting lists are the API's lists of those stages, as the manager's key reads them.
    for stage in (2, 4):
        for lead in await _ids(client, anna, stage=stage):
            assert f'href="/leads/{lead}"' in page.text
