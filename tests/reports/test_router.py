"""GET /api/v1/reports/weekly: the same figures as the funnel and call statistics, week by week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from httpx import AsyncClient

from app.auth.roles import Role
from app.db import Database
from app.reports.weeks import IsoWeek
from tests.factories import bearer, make_key
from tests.metrics.compare import assert_same
from tests.metrics.loading import load_dataset
from tests.metrics.worked_example import CASES, DATASET
from tests.reports.fetch import AS_OF, DAYS, WEEK, api, report, report_file

MONEY = ("cost", "cost_per_dial", "margin", "profit_per_call", "profit_per_application")
STAGES = ("reached", "conversation", "second_call", "application", "contract")


def _activity_case(as_of: str) -> dict[str, Any]:
    return next(
        case["result"]
        for case in CASES
        if case["query"]["mode"] == "activity" and case["query"]["as_of"] == as_of
    )


@pytest.mark.parametrize("as_of", AS_OF)
async def test_the_week_is_the_activity_funnel(
    client: AsyncClient, head: dict[str, str], worked: None, as_of: str
) -> None:
    body = await report(client, head, week=WEEK, as_of=as_of)
    funnel = await api(
        client, head, "metrics/funnel", **DAYS, mode="activity", as_of=as_of, group_by="employee"
    )
    total = funnel["total"]
    assert_same(total, _activity_case(as_of))  # the funnel is the spec's
    steps = {step["step"]: step for step in body["funnel"]}
    assert list(steps) == ["dials", "leads_dialed", *STAGES]
    assert (steps["dials"]["count"], steps["leads_dialed"]["count"]) == (
        total["dials"],
        total["leads_dialed"],
    )
    for stage in total["stages"]:
        step = steps[stage["name"]]
        assert (step["count"], step["conversion"], step["cumulative"]) == (
            stage["count"],
            stage["conversion"],
            stage["cumulative"],
        )
    for name in MONEY:
        assert body["money"][name]["value"] == total["economics"][name]
    assert body["money"]["roi"]["value"] == total["economics"]["roi"]
    assert body["period"] == {
        "week": WEEK,
        "first_day": "2026-11-16",
        "last_day": "2026-11-22",
        "from": "2026-11-15T21:00:00Z",
        "to": "2026-11-22T21:00:00Z",
        "timezone": "Europe/Moscow",
        "as_of": as_of,
    }
    assert body["currency"] == "RUB"


async def test_the_previous_week_and_the_change(
    client: AsyncClient, head: dict[str, str], worked: None
) -> None:
    as_of = AS_OF[1]
    body = await report(client, head, week=WEEK, as_of=as_of)
    before = (
        await api(
            client, head, "metrics/funnel", **{"from": "2026-11-09", "to": "2026-11-16"},
            mode="activity", as_of=as_of,
        )
    )["total"]  # fmt: skip
    assert body["previous_week"] == "2026-W46"
    steps = {step["step"]: step for step in body["funnel"]}
    # c12, the week before: one dial to L5, reached and a conversation, no application yet.
    assert [steps[s]["previous"] for s in ("dials", "leads_dialed", *STAGES)] == [
        before["dials"],
        before["leads_dialed"],
        *(stage["count"] for stage in before["stages"]),
    ]
    assert steps["dials"] | {"conversion": None} == {
        "step": "dials",
        "count": 13,
        "previous": 1,
        "change": 12,
        "change_pct": 12.0,
        "conversion": None,
        "previous_conversion": None,
        "cumulative": None,
    }
    assert steps["second_call"]["change_pct"] is None  # from nothing: no percentage
    cost = body["money"]["cost"]
    assert (cost["previous"], cost["value"], cost["change"]) == (
        before["economics"]["cost"],
        "324.00",
        "298.67",
    )
    profit = body["money"]["profit_per_call"]
    # Less of a loss is a positive change, against the size of last week's loss.
    assert (profit["value"], profit["previous"], profit["change"]) == ("-24.92", "-25.33", "0.41")
    assert profit["change_pct"] == pytest.approx(0.41 / 25.33, rel=0.01)


async def test_managers_are_the_funnel_and_the_calls_by_employee(
    client: AsyncClient, head: dict[str, str], worked: None
) -> None:
    as_of = AS_OF[1]
    body = await report(client, head, week=WEEK, as_of=as_of)
    funnel = await api(
        client, head, "metrics/funnel", **DAYS, mode="activity", as_of=as_of, group_by="employee"
    )
    calls = await api(client, head, "metrics/calls", **DAYS, group_by="employee")
    groups = {group["key"]: group for group in funnel["groups"]}
    made = {group["key"]: group for group in calls["groups"]}
    # Sorted by profit per call: Boris loses less per call than Anna.
    assert [(row["employee_id"], row["name"]) for row in body["managers"]] == [
        ("e2", "Boris"),
        ("e1", "Anna"),
    ]
    for row in body["managers"]:
        group, own = groups[row["employee_id"]], made[row["employee_id"]]
        leads = row["leads"]
        assert (leads["dials"], leads["leads_dialed"]) == (group["dials"], group["leads_dialed"])
        assert [leads[stage] for stage in STAGES] == [s["count"] for s in group["stages"]]
        assert leads["cost"] == group["economics"]["cost"]
        assert leads["profit_per_call"] == group["economics"]["profit_per_call"]
        assert row["calls"] == {
            key: own[key] for key in ("calls", "answered", "answer_rate", "talk_seconds")
        }
    total = body["managers_total"]
    assert (total["employee_id"], total["name"]) == (None, None)
    assert total["leads"]["cost"] == funnel["total"]["economics"]["cost"] == "324.00"
    assert total["calls"]["calls"] == calls["total"]["calls"] == 16
    for field in ("dials", "leads_dialed", *STAGES):
        assert sum(row["leads"][field] for row in body["managers"]) == total["leads"][field]
    for field in ("calls", "answered", "talk_seconds"):
        assert sum(row["calls"][field] for row in body["managers"]) == total["calls"][field]


@pytest.mark.parametrize("as_of", AS_OF)
async def test_cohorts_are_the_cohort_funnel_by_week(
    client: AsyncClient, head: dict[str, str], worked: None, as_of: str
) -> None:
    body = await report(client, head, week=WEEK, as_of=as_of)
    weekly = await api(
        client,
        head,
        "metrics/funnel",
        **{"from": "2026-09-28", "to": "2026-11-23"},
        as_of=as_of,
        group_by="week",
    )
    cohorts = body["cohorts"]
    assert [c["week"] for c in cohorts] == [f"2026-W{n}" for n in range(40, 48)]
    for cohort, group in zip(cohorts, weekly["groups"], strict=True):
        economics, forecast = group["economics"], group["economics"]["forecast"]
        assert cohort["week"] == group["key"]
        assert (cohort["leads_dialed"], cohort["dials"]) == (group["leads_dialed"], group["dials"])
        assert [cohort[stage] for stage in STAGES] == [s["count"] for s in group["stages"]]
        for name in ("cost", "profit_per_call", "profit_per_application"):
            assert cohort[name] == economics[name]
        for name in ("expected_profit_per_call", "expected_profit_per_application"):
            assert cohort[name] == forecast[name]
        assert cohort["open_applications"] == forecast["open_applications"]
    # W47 is the worked example's own cohort: the spec's figures.
    spec = next(
        c["result"] for c in CASES if c["query"] == {**DAYS, "mode": "cohort", "as_of": as_of}
    )
    assert cohorts[-1]["profit_per_call"] == spec["economics"]["profit_per_call"]
    assert cohorts[-1]["leads_dialed"] == spec["leads_dialed"] == 5
    # Young: under 28 days old, or with open applications (W46 still has L5's a3).
    if as_of == AS_OF[0]:
        assert [c["young"] for c in cohorts[-2:]] == [True, True]
        assert cohorts[-1]["age_days"] == 0
    else:
        assert (cohorts[-2]["young"], cohorts[-2]["open_applications"]) == (True, 1)
        assert (cohorts[-1]["young"], cohorts[-1]["age_days"]) == (False, 39)
        assert (cohorts[0]["young"], cohorts[0]["leads_dialed"]) == (False, 0)


async def test_call_times_by_weekday_and_hour(
    client: AsyncClient, head: dict[str, str], worked: None
) -> None:
    body = await report(client, head, week=WEEK, as_of=AS_OF[1])
    times = body["call_times"]
    assert times["hours"] == list(range(8, 19))  # the working day: every call falls in it
    assert [row["weekday"] for row in times["weekdays"]] == list(range(1, 8))
    cells = {
        (row["weekday"], cell["hour"]): cell for row in times["weekdays"] for cell in row["cells"]
    }
    assert len(cells) == 7 * 11
    # Monday 10:00 Moscow: c1 (unanswered) and c4 (the secretary); 13:00: c2.
    assert cells[1, 10] == {"hour": 10, "calls": 2, "answered": 1, "answer_rate": 0.5}
    assert cells[1, 13]["calls"] == 1
    assert cells[7, 12] == {"hour": 12, "calls": 0, "answered": 0, "answer_rate": None}
    by_weekday = await api(client, head, "metrics/calls", **DAYS, group_by="weekday")
    for group in by_weekday["groups"]:
        row = times["weekdays"][int(group["key"]) - 1]
        assert sum(cell["calls"] for cell in row["cells"]) == group["calls"]


async def test_losses(
    client: AsyncClient, admin: dict[str, str], head: dict[str, str], worked: None
) -> None:
    # L4's call c11 was tagged refused in W47; a2 was lost for its price in W48.
    w47 = await report(client, head, week=WEEK, as_of=AS_OF[1])
    assert w47["losses"] == [{"kind": "refusal", "reason": None, "count": 1}]
    closed = await client.patch(
        "/api/v1/leads/L4",
        json={"status": "refused", "refusal_reason": "has a supplier", "refused_at_stage": 1},
        headers=admin,
    )
    assert closed.status_code == 200, closed.text
    w47 = await report(client, head, week=WEEK, as_of=AS_OF[1])
    assert w47["losses"] == [{"kind": "refusal", "reason": "has a supplier", "count": 1}]
    w48 = await report(client, head, week="2026-W48", as_of=AS_OF[1])
    assert w48["losses"] == [{"kind": "lost_application", "reason": "price", "count": 1}]


async def test_an_empty_week(client: AsyncClient, head: dict[str, str], worked: None) -> None:
    body = await report(client, head, week="2026-W30", as_of=AS_OF[1])
    assert [step["count"] for step in body["funnel"]] == [0] * 7
    assert body["money"]["cost"] == {
        "value": "0.00",
        "previous": "0.00",
        "change": "0.00",
        "change_pct": None,
    }
    assert body["money"]["profit_per_call"]["value"] is None
    assert body["managers"] == []
    assert body["managers_total"]["leads"]["dials"] == 0
    assert body["managers_total"]["calls"] == {
        "calls": 0,
        "answered": 0,
        "answer_rate": None,
        "talk_seconds": 0,
    }
    assert len(body["cohorts"]) == 8
    assert body["losses"] == []
    for fmt in ("csv", "xlsx", "html"):
        await report_file(client, head, week="2026-W30", format=fmt, lang="ru")


async def test_week_bounds_are_moscow_midnights(
    client: AsyncClient, head: dict[str, str], database: Database
) -> None:
    def call(n: int, started_at: str) -> dict[str, Any]:
        return {
            "id": f"c{n}",
            "lead_id": f"L{n}",
            "employee_id": "e1",
            "direction": "outbound",
            "started_at": started_at,
            "answered": True,
            "talk_seconds": 30,
            "duration_seconds": 40,
        }

    await load_dataset(
        database,
        {
            "employees": [{"id": "e1", "name": "Anna", "extensions": ["101"]}],
            "leads": [{"id": f"L{n}", "phones": [f"+7900000000{n}"]} for n in (1, 2)],
            "calls": [
                call(1, "2026-11-22T20:30:00Z"),  # Sunday 23:30 in Moscow: W47
                call(2, "2026-11-22T21:10:00Z"),  # Monday 00:10 in Moscow: W48
            ],
            "applications": [],
            "contracts": [],
            "settings": DATASET["settings"],
        },
    )
    as_of = "2026-11-30T00:00:00Z"
    w47 = await report(client, head, week=WEEK, as_of=as_of)
    w48 = await report(client, head, week="2026-W48", as_of=as_of)
    assert (w47["period"]["from"], w47["period"]["to"]) == (
        "2026-11-15T21:00:00Z",
        "2026-11-22T21:00:00Z",
    )
    assert w48["period"]["from"] == "2026-11-22T21:00:00Z"
    assert (w47["funnel"][0]["count"], w48["funnel"][0]["count"]) == (1, 1)
    assert w48["funnel"][0]["previous"] == 1  # W47's dial, seen from W48
    assert w47["call_times"]["hours"][-1] == 23  # widened to the Sunday-night call
    sunday = w47["call_times"]["weekdays"][6]["cells"]
    assert sunday[-1] == {"hour": 23, "calls": 1, "answered": 1, "answer_rate": 1.0}
    monday = w48["call_times"]["weekdays"][0]["cells"]
    assert monday[0] == {"hour": 0, "calls": 1, "answered": 1, "answer_rate": 1.0}
    assert [c["leads_dialed"] for c in w48["cohorts"][-2:]] == [1, 1]


async def test_the_default_week_is_the_last_complete_one(
    client: AsyncClient, head: dict[str, str]
) -> None:
    body = await report(client, head)
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Moscow")).date()
    assert body["period"]["week"] == IsoWeek.of(today - timedelta(days=7)).key


@pytest.mark.parametrize("week", ["2026-W54", "2026-47", "abc", "2025-W53"])
async def test_bad_weeks_are_a_422_problem(
    client: AsyncClient, head: dict[str, str], week: str
) -> None:
    response = await client.get("/api/v1/reports/weekly", params={"week": week}, headers=head)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["query", "week"]
    assert week in problem["detail"]


async def test_bad_format_or_language(client: AsyncClient, head: dict[str, str]) -> None:
    for params in ({"format": "pdf"}, {"lang": "de"}):
        response = await client.get("/api/v1/reports/weekly", params=params, headers=head)
        assert response.status_code == 422


async def test_files_come_as_attachments(
    client: AsyncClient, admin: dict[str, str], worked: None
) -> None:
    expected = {
        "csv": ("text/csv; charset=utf-8", "attachment"),
        "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "attachment"),
        "html": ("text/html; charset=utf-8", "inline"),
    }
    for fmt, (media_type, disposition) in expected.items():
        response = await report_file(client, admin, week=WEEK, format=fmt)
        assert response.headers["content-type"] == media_type
        assert response.headers["content-disposition"] == (
            f'{disposition}; filename="callfunnel-2026-W47.{fmt}"'
        )
    json_answer = await report_file(client, admin, week=WEEK)
    assert json_answer.headers["content-type"] == "application/json"


async def test_reports_are_for_heads_and_admins(
    client: AsyncClient, database: Database, worked: None
) -> None:
    manager = bearer(await make_key(database, Role.MANAGER, "e1"))
    response = await client.get("/api/v1/reports/weekly", headers=manager)
    assert response.status_code == 403
    assert (await client.get("/api/v1/reports/weekly")).status_code == 401


async def test_the_report_is_documented(client: AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"]["/api/v1/reports/weekly"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"week", "format", "lang", "as_of"}
    content = operation["responses"]["200"]["content"]
    assert set(content) == {
        "application/json",
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/html",
    }
    schemas = spec["components"]["schemas"]
    assert "description" in schemas["WeeklyReport"]["properties"]["managers"]
    assert schemas["MoneyChange"]["properties"]["value"]["anyOf"][0]["type"] == "string"
