"""GET /metrics/script-quality (scores per group, criteria, the outcome tables) and the queue."""

from __future__ import annotations

import math
from typing import Any

import pytest
from httpx import AsyncClient

from app.db import Database
from app.metrics.funnel import wilson_interval
from app.quality.queue import rank_of
from tests.factories import create_application
from tests.quality.support import World, all_yes, later, make_world

WEEK = {"from": "2026-11-16", "to": "2026-11-23"}
NEEDS_WORK = 100 * 16 / 23
B2 = (100 + 100 * 27 / 28) / 2  # two evaluators: all yes, and all yes but greeting (1 of 28)


@pytest.fixture
async def world(client: AsyncClient, database: Database, admin: dict[str, str]) -> World:
    """Four scored calls of week 2026-W47 (and one of the week after):

    a1 Anna, first call, 100            lead reaches stage 4 (an application)
    a2 Anna, first call, 0 (courtesy)   lead at stage 2
    b1 Boris, second call, 69.57        lead at stage 3 (need identified)
    b2 Boris, no script, 100 and 96.43  lead at stage 2
    """
    w = await make_world(client, database, admin)
    await w.call("a1", number="+79160000001", script="first_call")
    await w.call("a2", number="+79160000002", script="first_call", start=later(30))
    await w.call(
        "b1",
        extension="102",
        number="+79160000003",
        script="second_call",
        outcome="need_identified",
        start=later(60),
    )
    await w.call("b2", extension="102", number="+79160000004", start=later(90))
    await w.call("next", number="+79160000005", start=later(7 * 24 * 60))
    await w.score("a1", all_yes())
    await w.score("a2", all_yes(courtesy="no"))
    await w.score("b1", all_yes(need="no", decision_process="no", application="no"))
    await w.score("b2", all_yes())
    await w.score("b2", all_yes(greeting="no"), headers=w.admin)
    await w.score("next", all_yes())
    await create_application(client, admin, w.leads["a1"], created_at=later(200).isoformat())
    return w


async def figures(world: World, headers: dict[str, str] | None = None, **params: Any) -> Any:
    response = await world.client.get(
        "/api/v1/metrics/script-quality", params={**WEEK, **params}, headers=headers or world.head
    )
    assert response.status_code == 200, response.text
    return response.json()


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9)


async def test_total_and_groups(world: World) -> None:
    body = await figures(world)
    total = body["total"]
    assert (total["calls"], total["evaluations"], total["critical_failed"]) == (4, 5, 1)
    assert close(total["score"], (100 + 0 + NEEDS_WORK + B2) / 4)
    assert total["bands"] == {"excellent": 2, "good": 0, "needs_work": 1, "poor": 1}
    assert body["groups"] is None
    assert body["checklist"]["id"] == "chk_cold_call_17"
    assert body["period"]["from"] == "2026-11-15T21:00:00Z"

    employees = (await figures(world, group_by="employee"))["groups"]
    by_key = {g["key"]: g for g in employees}
    anna = by_key[world.employees["Anna"]]
    boris = by_key[world.employees["Boris"]]
    assert (anna["label"], anna["calls"], anna["evaluations"], anna["score"]) == (
        "Anna",
        2,
        2,
        50.0,
    )
    assert anna["bands"] == {"excellent": 1, "good": 0, "needs_work": 0, "poor": 1}
    assert (boris["calls"], boris["evaluations"], boris["critical_failed"]) == (2, 3, 0)
    assert close(boris["score"], (NEEDS_WORK + B2) / 2)

    scripts = (await figures(world, group_by="script"))["groups"]
    known = sorted([(world.scripts["first_call"], 2), (world.scripts["second_call"], 1)])
    assert [(g["key"], g["calls"]) for g in scripts] == [*known, (None, 1)]

    weeks = (await figures(world, group_by="week", to="2026-11-30"))["groups"]
    assert [(g["key"], g["calls"]) for g in weeks] == [("2026-W47", 4), ("2026-W48", 1)]


async def test_criteria_and_pass_rates(world: World) -> None:
    body = await figures(world, group_by="criterion")
    groups = {g["key"]: g for g in body["groups"]}
    assert len(groups) == 17
    assert body["criteria"] == body["groups"]
    greeting = groups["greeting"]
    assert (greeting["yes"], greeting["no"], greeting["na"], greeting["pass_rate"]) == (
        4,
        1,
        0,
        0.8,
    )
    # company applies to first calls: b1 (a second call) counts it na; b2 (no script) counts it.
    company = groups["company"]
    assert (company["yes"], company["no"], company["na"]) == (4, 0, 1)
    need = groups["need"]
    assert (need["yes"], need["no"], need["na"], need["pass_rate"]) == (2, 1, 2, 2 / 3)
    courtesy = groups["courtesy"]
    assert (courtesy["yes"], courtesy["no"], courtesy["critical"]) == (4, 1, True)
    assert courtesy["label_ru"] == "Вежлив и корректен, без грубости и давления"


async def test_outcomes_by_band_and_criterion(world: World) -> None:
    outcomes = (await figures(world))["outcomes"]
    bands = {b["band"]: b for b in outcomes["bands"]}
    assert list(bands) == ["excellent", "good", "needs_work", "poor"]
    excellent = bands["excellent"]  # a1 (stage 4) and b2 (stage 2)
    assert (excellent["calls"], excellent["stage3"], excellent["stage4"]) == (2, 1, 1)
    assert (excellent["stage3_rate"], excellent["stage4_rate"]) == (0.5, 0.5)
    assert excellent["stage4_ci95"] == pytest.approx(list(wilson_interval(1, 2) or ()))
    good = bands["good"]
    assert (good["calls"], good["stage3_rate"], good["stage4_ci95"]) == (0, None, None)
    needs_work = bands["needs_work"]  # b1: stage 3
    assert (needs_work["stage3"], needs_work["stage4"], needs_work["stage3_rate"]) == (1, 0, 1.0)
    poor = bands["poor"]  # a2: stage 2
    assert (poor["calls"], poor["stage3"], poor["stage4"]) == (1, 0, 0)

    criteria = {c["key"]: c for c in outcomes["criteria"]}
    courtesy = criteria["courtesy"]  # passed: a1 (4), b1 (3), b2 (2); failed: a2 (2)
    assert (
        courtesy["passed"]["calls"],
        courtesy["passed"]["stage3"],
        courtesy["passed"]["stage4"],
    ) == (3, 2, 1)
    assert (courtesy["failed"]["calls"], courtesy["failed"]["stage4_rate"]) == (1, 0.0)
    assert close(courtesy["difference"], 1 / 3)
    assert close(courtesy["stage3_difference"], 2 / 3)
    assert courtesy["passed"]["stage4_ci95"] == pytest.approx(list(wilson_interval(1, 3) or ()))
    # b2's evaluators disagree on greeting: that call neither passed nor failed it.
    greeting = criteria["greeting"]
    assert (greeting["passed"]["calls"], greeting["failed"]["calls"]) == (3, 0)
    assert greeting["difference"] is None
    need = criteria["need"]  # failed by b1 (stage 3); passed by b2 (no script, stage 2)
    assert (need["passed"]["calls"], need["failed"]["calls"]) == (1, 1)
    assert close(need["stage3_difference"], -1.0)


async def test_as_of_before_the_application(world: World) -> None:
    body = await figures(world, as_of=later(100).isoformat())
    excellent = {b["band"]: b for b in body["outcomes"]["bands"]}["excellent"]
    assert excellent["stage4"] == 0


async def test_other_checklists_and_bad_queries(world: World) -> None:
    created = await world.client.post(
        "/api/v1/checklists",
        json={"name": "Other", "criteria": [{"key": "x", "text": "X"}]},
        headers=world.head,
    )
    other = created.json()["id"]
    await world.score("a1", {"x": "no"}, checklist=other)
    body = await figures(world, checklist_id=other, group_by="criterion")
    assert (body["total"]["calls"], body["total"]["score"]) == (1, 0.0)
    assert [g["key"] for g in body["groups"]] == ["x"]
    for params in (
        {"checklist_id": "chk_nope"},
        {"group_by": "lead"},
        {"from": "yesterday"},
        {"from": "2026-11-23", "to": "2026-11-16"},
        {"as_of": "later"},
    ):
        response = await world.client.get(
            "/api/v1/metrics/script-quality", params={**WEEK, **params}, headers=world.head
        )
        assert response.status_code in (404, 422), (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_empty_period(world: World) -> None:
    body = await figures(world, **{"from": "2026-10-01", "to": "2026-10-08"}, group_by="employee")
    assert (body["total"]["calls"], body["total"]["score"], body["groups"]) == (0, None, [])
    assert all(b["calls"] == 0 and b["stage4_rate"] is None for b in body["outcomes"]["bands"])


# --------------------------------------------------------------------------- the queue


async def queue(world: World, headers: dict[str, str] | None = None, **params: Any) -> Any:
    response = await world.client.get(
        "/api/v1/evaluations/queue",
        params={"from": "2026-11-16", "to": "2026-11-30", **params},
        headers=headers or world.head,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_queue_offers_a_few_calls_per_manager_and_week(
    client: AsyncClient, database: Database, admin: dict[str, str]
) -> None:
    w = await make_world(client, database, admin)
    anna = [await w.call(f"a{n}", number=f"+7916000001{n}", start=later(20 * n)) for n in range(5)]
    short = await w.call("short", number="+79160000020", start=later(200), talk=30)
    boris = [
        await w.call(f"b{n}", extension="102", number=f"+7916000003{n}", start=later(20 * n))
        for n in range(2)
    ]
    later_week = await w.call("w48", number="+79160000040", start=later(7 * 24 * 60))

    first = await queue(w)
    again = await queue(w)
    assert first == again
    items = first["items"]
    # Newest week first; in a week, by employee, then by the rank of the call id.
    assert [i["week"] for i in items] == ["2026-W48"] + ["2026-W47"] * 5
    assert items[0]["call_id"] == later_week
    in_w47 = [i for i in items if i["week"] == "2026-W47"]
    by_employee: dict[str, list[str]] = {}
    for item in in_w47:
        by_employee.setdefault(item["employee_id"], []).append(item["call_id"])
    expected_anna = sorted(anna, key=rank_of)[:3]
    assert by_employee[w.employees["Anna"]] == expected_anna
    assert sorted(by_employee[w.employees["Boris"]]) == sorted(boris)
    assert short not in [i["call_id"] for i in items]
    assert items[1]["talk_seconds"] == 95
    assert {i["employee_name"] for i in in_w47} == {"Anna", "Boris"}

    # Scoring a queued call uses its place: nothing new comes in. A scored short call also
    # takes one of the week's places.
    await w.score(expected_anna[0], all_yes())
    after = [i["call_id"] for i in (await queue(w, employee_id=w.employees["Anna"]))["items"]]
    assert after == [later_week, *expected_anna[1:]]
    await w.score(short, all_yes())
    after = [i["call_id"] for i in (await queue(w, employee_id=w.employees["Anna"]))["items"]]
    assert after == [later_week, expected_anna[1]]

    # Pages.
    page = await queue(w, limit=2)
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    rest = await queue(w, limit=2, cursor=page["next_cursor"])
    whole = [i["call_id"] for i in (await queue(w))["items"]]
    assert [i["call_id"] for i in page["items"] + rest["items"]] == whole[:4]

    # A manager sees its own calls' places; the quota is a setting.
    own = await queue(w, headers=w.managers["Boris"], employee_id=w.employees["Anna"])
    assert sorted(i["call_id"] for i in own["items"]) == sorted(boris)
    settings = (await client.get("/api/v1/settings/economics", headers=admin)).json()
    settings["quality"]["queue_per_manager_week"] = 1
    assert (
        await client.put("/api/v1/settings/economics", json=settings, headers=admin)
    ).status_code == 200
    one = await queue(w)
    assert [i["week"] for i in one["items"]] == ["2026-W48", "2026-W47"]  # Anna's week is full
    assert one["items"][1]["employee_id"] == w.employees["Boris"]

    bad = await client.get("/api/v1/evaluations/queue", params={"limit": 0}, headers=admin)
    assert bad.status_code == 422
