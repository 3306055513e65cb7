"""Checklists, evaluations, roles and bad input through the API, on both databases."""

from __future__ import annotations

import math
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select

from app.auth.roles import Role
from app.db import Database
from app.quality.models import Checklist, Evaluation
from tests.factories import bearer, make_key
from tests.quality.support import DEFAULT, KEYS, World, all_yes, later, make_world


@pytest.fixture
async def world(client: AsyncClient, database: Database, admin: dict[str, str]) -> World:
    return await make_world(client, database, admin)


def small_checklist(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Short",
        "sections": [
            {
                "key": "opening",
                "title": "Opening",
                "criteria": [
                    {"key": "hello", "text": "Said hello", "weight": 1},
                    {"key": "name", "text": "Named the company", "weight": 3},
                ],
            },
            {
                "key": "manner",
                "criteria": [{"key": "polite", "text": "Polite", "critical": True}],
            },
        ],
        **overrides,
    }


async def test_the_default_checklist_is_there_in_english_and_russian(world: World) -> None:
    listed = (await world.client.get("/api/v1/checklists", headers=world.head)).json()
    (default,) = [c for c in listed["items"] if c["id"] == DEFAULT]
    assert (default["name"], default["version"], default["criteria_count"]) == (
        "Cold call — 17 criteria",
        1,
        17,
    )
    assert default["total_weight"] == 28
    assert [s["key"] for s in default["sections"]] == [
        "opening",
        "presentation",
        "need",
        "objections",
        "closing",
        "manner",
    ]
    criteria = {c["key"]: c for s in default["sections"] for c in s["criteria"]}
    assert list(criteria) == KEYS
    assert criteria["courtesy"]["critical"] is True
    assert [k for k, c in criteria.items() if c["critical"]] == ["courtesy"]
    assert criteria["need"] == {
        "key": "need",
        "text": "Identified the need: what, how much, when, budget",
        "text_ru": "Выявил потребность: что, сколько, когда, бюджет",
        "weight": 3,
        "critical": False,
        "applies_to": "second_call",
    }
    # A manager reads checklists too (it sees what it is scored against).
    manager = world.managers["Anna"]
    assert (
        await world.client.get(f"/api/v1/checklists/{DEFAULT}", headers=manager)
    ).status_code == 200


async def test_worked_cases_through_the_api(world: World) -> None:
    first = await world.call("c1", script="first_call")
    second = await world.call("c2", script="second_call", start=later(60))
    plain = await world.call("c3", start=later(120))
    cases = [
        (first, all_yes(proof="no", convenience="na"), 100 * 16 / 17, "excellent", False),
        (
            second,
            all_yes(need="no", decision_process="no", application="no"),
            100 * 16 / 23,
            "needs_work",
            False,
        ),
        (first, all_yes(courtesy="no"), 0.0, "poor", True),
        (first, {"need": "yes"}, None, None, False),
        (plain, all_yes(company="no"), 100 * 26 / 28, "excellent", False),
    ]
    for call, answers, score, band, failed in cases:
        body = await world.score(call, answers)
        if score is None:
            assert body["score"] is None
        else:
            assert math.isclose(body["score"], score, rel_tol=1e-12)
        assert (body["band"], body["critical_failed"]) == (band, failed)
        assert body["checklist_id"] == DEFAULT
        assert body["checklist_version"] == 1


async def test_an_evaluation_is_revised_by_its_evaluator(world: World, database: Database) -> None:
    call = await world.call("c1", script="first_call")
    created = await world.score(call, all_yes(proof="no"), comment="good opening")
    revised = await world.score(call, all_yes(), comment="listened again")
    assert revised["id"] == created["id"]
    assert revised["created_at"] == created["created_at"]
    assert revised["updated_at"] >= created["updated_at"]
    assert (revised["score"], revised["comment"]) == (100.0, "listened again")
    assert revised["source"] == "manual"
    # Another evaluator (the admin key) has an evaluation of its own; an automatic one too.
    other = await world.score(call, all_yes(courtesy="no"), headers=world.admin)
    robot_key = bearer(await make_key(database, Role.HEAD))
    robot = await world.score(call, all_yes(), headers=robot_key, source="auto:speech")
    assert robot["source"] == "auto:speech"
    assert len({created["id"], other["id"]}) == 2
    listed = (
        await world.client.get(f"/api/v1/calls/{call}/evaluations", headers=world.head)
    ).json()
    assert len(listed) == 2  # the head and the robot keys share a name: "test head"
    assert {e["evaluator"] for e in listed} == {"test head", "test admin"}
    assert robot["id"] == created["id"]


async def test_editing_a_used_checklist_makes_a_new_version(world: World) -> None:
    created = await world.client.post(
        "/api/v1/checklists", json=small_checklist(), headers=world.head
    )
    assert created.status_code == 201, created.text
    v1 = created.json()
    assert (v1["version"], v1["family_id"], v1["in_use"], v1["total_weight"]) == (
        1,
        v1["id"],
        False,
        5,
    )

    # Unused: an edit changes it in place.
    edited = await world.client.patch(
        f"/api/v1/checklists/{v1['id']}", json={"name": "Short list"}, headers=world.head
    )
    assert edited.status_code == 200
    assert (edited.json()["id"], edited.json()["version"], edited.json()["name"]) == (
        v1["id"],
        1,
        "Short list",
    )

    call = await world.call("c1")
    old = await world.score(call, {"hello": "yes", "name": "no"}, checklist=v1["id"])
    assert old["score"] == 25.0

    # Used: the same edit makes version 2; version 1 and its evaluation stay as they were.
    heavier = small_checklist()
    heavier["sections"][0]["criteria"][0]["weight"] = 3
    made = await world.client.patch(
        f"/api/v1/checklists/{v1['id']}", json=heavier, headers=world.head
    )
    assert made.status_code == 200
    v2 = made.json()
    assert (v2["version"], v2["family_id"]) == (2, v1["id"])
    assert v2["id"] != v1["id"]
    again = (await world.client.get(f"/api/v1/checklists/{v1['id']}", headers=world.head)).json()
    assert (again["in_use"], again["latest"], again["total_weight"]) == (True, False, 5)
    kept = (await world.client.get(f"/api/v1/evaluations/{old['id']}", headers=world.head)).json()
    assert kept["score"] == 25.0
    assert kept["checklist_version"] == 1

    # POST …/versions always makes the next version, copying what it does not change from the
    # version named (here version 1, whose first criterion weighs 1).
    v3 = await world.client.post(
        f"/api/v1/checklists/{v1['id']}/versions", json={"name": "Short v3"}, headers=world.head
    )
    assert v3.status_code == 201
    assert (v3.json()["version"], v3.json()["total_weight"]) == (3, 5)
    new = await world.score(call, {"hello": "yes", "name": "no"}, checklist=v2["id"])
    assert new["score"] == 50.0
    versions = (
        await world.client.get(f"/api/v1/checklists/{v1['id']}/versions", headers=world.head)
    ).json()
    assert [v["version"] for v in versions] == [1, 2, 3]
    listed = (await world.client.get("/api/v1/checklists", headers=world.head)).json()["items"]
    assert [c["version"] for c in listed if c["family_id"] == v1["id"]] == [3]


async def test_a_flat_criteria_list_is_accepted(world: World) -> None:
    body = {
        "name": "Flat",
        "criteria": [
            {"key": "a", "text": "A", "section": "one", "weight": 2, "applies_to": "first_call"},
            {"key": "b", "text": "B", "section": "two", "text_ru": "Б"},
        ],
    }
    created = await world.client.post("/api/v1/checklists", json=body, headers=world.admin)
    assert created.status_code == 201, created.text
    sections = created.json()["sections"]
    assert [(s["key"], [c["key"] for c in s["criteria"]]) for s in sections] == [
        ("one", ["a"]),
        ("two", ["b"]),
    ]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"name": "Empty", "sections": []}, "a checklist needs at least one criterion"),
        ({"name": "Empty", "sections": [{"key": "s", "criteria": []}]}, "at least one criterion"),
        ({"name": "No content"}, "at least one criterion"),
        (
            {"name": "W", "criteria": [{"key": "a", "text": "A", "weight": 0}]},
            "greater than or equal to 1",
        ),
        (
            {"name": "W", "criteria": [{"key": "a", "text": "A", "weight": -2}]},
            "greater than or equal to 1",
        ),
        ({"name": "W", "criteria": [{"key": "a", "text": "A", "weight": 1.5}]}, "integer"),
        (
            {"name": "D", "criteria": [{"key": "a", "text": "A"}, {"key": "a", "text": "B"}]},
            "unique",
        ),
        ({"name": "K", "criteria": [{"key": "a b", "text": "A"}]}, "pattern"),
        (
            {"name": "T", "criteria": [{"key": "a", "text": "A", "applies_to": "third_call"}]},
            "first_call",
        ),
        ({"criteria": [{"key": "a", "text": "A"}]}, "name"),
    ],
)
async def test_bad_checklists_are_422_and_write_nothing(
    world: World, database: Database, body: dict[str, Any], where: str
) -> None:
    response = await world.client.post("/api/v1/checklists", json=body, headers=world.head)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["errors"]
    assert where in response.text
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Checklist)) == 1


async def test_bad_evaluations_are_clear_4xx_and_write_nothing(
    world: World, database: Database
) -> None:
    call = await world.call("c1", script="first_call")
    url = f"/api/v1/calls/{call}/evaluations/{DEFAULT}"
    unknown = await world.client.put(
        url, json={"answers": {"greeting": "yes", "charm": "yes"}}, headers=world.head
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [
        {"loc": ["body", "answers", "charm"], "msg": "no such criterion in this checklist"}
    ]
    for bad in ("maybe", "YES", "n.a.", True, 1, None):
        response = await world.client.put(
            url, json={"answers": {"greeting": bad}}, headers=world.head
        )
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["errors"][0]["loc"][:3] == ["body", "answers", "greeting"]
    for body in (
        {"answers": ["yes"]},
        {"answers": {}, "source": "robot"},
        {"answers": {}, "extra": 1},
    ):
        response = await world.client.put(url, json=body, headers=world.head)
        assert response.status_code == 422, body
    missing_call = await world.client.put(
        f"/api/v1/calls/call_nope/evaluations/{DEFAULT}", json={"answers": {}}, headers=world.head
    )
    assert missing_call.status_code == 404
    missing_checklist = await world.client.put(
        f"/api/v1/calls/{call}/evaluations/chk_nope", json={"answers": {}}, headers=world.head
    )
    assert missing_checklist.status_code == 404
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Evaluation)) == 0
    bad_version = await world.client.post(
        f"/api/v1/checklists/{DEFAULT}/versions", json={"criteria": []}, headers=world.head
    )
    assert bad_version.status_code == 422
    assert (
        await world.client.post("/api/v1/checklists/chk_nope/versions", json={}, headers=world.head)
    ).status_code == 404


async def test_roles(world: World) -> None:
    anna_call = await world.call("c1", extension="101", script="first_call")
    boris_call = await world.call("c2", extension="102", number="+79161234568")
    await world.score(anna_call, all_yes())
    await world.score(boris_call, all_yes(greeting="no"))
    anna, boris = world.managers["Anna"], world.managers["Boris"]

    # A manager evaluates nothing and edits no checklist.
    put = await world.client.put(
        f"/api/v1/calls/{anna_call}/evaluations/{DEFAULT}", json={"answers": {}}, headers=anna
    )
    assert put.status_code == 403
    assert (
        await world.client.post("/api/v1/checklists", json=small_checklist(), headers=anna)
    ).status_code == 403
    assert (
        await world.client.patch(f"/api/v1/checklists/{DEFAULT}", json={"name": "x"}, headers=anna)
    ).status_code == 403
    assert (
        await world.client.post(f"/api/v1/checklists/{DEFAULT}/versions", json={}, headers=anna)
    ).status_code == 403

    # It reads the evaluations of its own calls, and nobody else's (404, as if absent).
    own = await world.client.get(f"/api/v1/calls/{anna_call}/evaluations", headers=anna)
    assert own.status_code == 200
    assert len(own.json()) == 1
    assert (
        await world.client.get(f"/api/v1/calls/{boris_call}/evaluations", headers=anna)
    ).status_code == 404
    listed = (await world.client.get("/api/v1/evaluations", headers=anna)).json()["items"]
    assert [e["call_id"] for e in listed] == [anna_call]
    asked = await world.client.get(
        "/api/v1/evaluations", params={"employee_id": world.employees["Boris"]}, headers=anna
    )
    assert [e["call_id"] for e in asked.json()["items"]] == [anna_call]
    boris_eval = (
        await world.client.get(f"/api/v1/calls/{boris_call}/evaluations", headers=boris)
    ).json()
    assert (
        await world.client.get(f"/api/v1/evaluations/{boris_eval[0]['id']}", headers=anna)
    ).status_code == 404

    # Its figures are those of its own calls.
    figures = await world.client.get(
        "/api/v1/metrics/script-quality",
        params={"from": "2026-11-16", "to": "2026-11-23"},
        headers=anna,
    )
    assert figures.status_code == 200
    assert (figures.json()["total"]["calls"], figures.json()["total"]["score"]) == (1, 100.0)
    everyone = await world.client.get(
        "/api/v1/metrics/script-quality",
        params={"from": "2026-11-16", "to": "2026-11-23"},
        headers=world.head,
    )
    assert everyone.json()["total"]["calls"] == 2

    # Boris calls Anna's lead: Anna may read that call (her lead's), not its evaluations (the
    # evaluations of her own calls are hers).
    on_her_lead = await world.call("c3", extension="102", start=later(60))
    await world.score(on_her_lead, all_yes())
    assert (await world.client.get(f"/api/v1/calls/{on_her_lead}", headers=anna)).status_code == 200
    seen = await world.client.get(f"/api/v1/calls/{on_her_lead}/evaluations", headers=anna)
    assert seen.json() == []
    figures = await world.client.get(
        "/api/v1/metrics/script-quality",
        params={"from": "2026-11-16", "to": "2026-11-23"},
        headers=anna,
    )
    assert figures.json()["total"]["calls"] == 1

    # No key: 401 everywhere.
    assert (await world.client.get("/api/v1/checklists")).status_code == 401
    assert (await world.client.get("/api/v1/metrics/script-quality")).status_code == 401


async def test_evaluations_list_filters_and_pages(world: World) -> None:
    calls = [
        await world.call(f"c{n}", start=later(30 * n), number=f"+7916123450{n}") for n in range(4)
    ]
    for call in calls:
        await world.score(call, all_yes())
    await world.score(calls[0], all_yes(), headers=world.admin)
    first = (
        await world.client.get("/api/v1/evaluations", params={"limit": 3}, headers=world.head)
    ).json()
    assert len(first["items"]) == 3
    assert first["next_cursor"]
    rest = (
        await world.client.get(
            "/api/v1/evaluations",
            params={"limit": 3, "cursor": first["next_cursor"]},
            headers=world.head,
        )
    ).json()
    assert len(rest["items"]) == 2
    assert rest["next_cursor"] is None
    assert len({e["id"] for e in first["items"] + rest["items"]}) == 5
    by_call = await world.client.get(
        "/api/v1/evaluations", params={"call_id": calls[0]}, headers=world.head
    )
    assert len(by_call.json()["items"]) == 2
    by_evaluator = await world.client.get(
        "/api/v1/evaluations", params={"evaluator": "test admin"}, headers=world.head
    )
    assert [e["call_id"] for e in by_evaluator.json()["items"]] == [calls[0]]
    in_period = await world.client.get(
        "/api/v1/evaluations",
        params={"from": later(30).isoformat(), "to": later(90).isoformat()},
        headers=world.head,
    )
    assert sorted(e["call_id"] for e in in_period.json()["items"]) == sorted(calls[1:3])
    bad = await world.client.get("/api/v1/evaluations", params={"from": "soon"}, headers=world.head)
    assert bad.status_code == 422


async def test_the_score_follows_the_call_script(world: World) -> None:
    """applies_to is judged against the call's script as it is now."""
    call = await world.call("c1")
    body = await world.score(call, all_yes(company="no"))
    assert math.isclose(body["score"], 100 * 26 / 28)
    await world.client.patch(
        f"/api/v1/calls/{call}",
        json={"script_id": world.scripts["second_call"]},
        headers=world.admin,
    )
    (shown,) = (
        await world.client.get(f"/api/v1/calls/{call}/evaluations", headers=world.head)
    ).json()
    assert (shown["score"], shown["script_kind"], shown["applicable_weight"]) == (
        100.0,
        "second_call",
        23,
    )


async def test_bands_follow_the_settings(world: World) -> None:
    settings = (await world.client.get("/api/v1/settings/economics", headers=world.admin)).json()
    assert settings["quality"]["bands"] == {"excellent": 85.0, "good": 70.0, "needs_work": 50.0}
    settings["quality"]["bands"] = {"excellent": 95, "good": 90, "needs_work": 50}
    put = await world.client.put("/api/v1/settings/economics", json=settings, headers=world.admin)
    assert put.status_code == 200, put.text
    call = await world.call("c1", script="first_call")
    body = await world.score(call, all_yes(proof="no", convenience="na"))
    assert body["band"] == "good"
    settings["quality"]["bands"] = {"excellent": 50, "good": 90, "needs_work": 10}
    wrong = await world.client.put("/api/v1/settings/economics", json=settings, headers=world.admin)
    assert wrong.status_code == 422
