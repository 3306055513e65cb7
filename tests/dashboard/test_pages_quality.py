"""Script quality pages: the API's figures for the same period, the queue, and scoring a call
through the checklist form (stored as the API's evaluation)."""

from __future__ import annotations

import math

import pytest
from httpx import AsyncClient

from app.auth.roles import Role
from app.db import Database
from tests.dashboard.browsing import browser
from tests.dashboard.pages import csrf_of, figures_of
from tests.quality.support import DEFAULT, World, all_yes, later, make_world

WEEK = {"from": "2026-11-16", "to": "2026-11-23"}


@pytest.fixture
async def world(client: AsyncClient, database: Database, admin: dict[str, str]) -> World:
    world = await make_world(client, database, admin)
    await world.call("a1", extension="101", number="+79161000001", script="first_call")
    await world.call("a2", extension="101", number="+79161000002", start=later(30))
    await world.call("b1", extension="102", number="+79161000003", start=later(60))
    await world.score("a1", all_yes(proof="no", convenience="na"))
    await world.score("b1", all_yes(courtesy="no"))
    return world


async def test_the_figures_are_the_apis(app: object, database: Database, world: World) -> None:
    async with browser(app, database, Role.HEAD) as page:
        answer = await page.get("/quality", params=WEEK)
    assert answer.status_code == 200, answer.text
    figures = figures_of(answer)
    for group_by in ("employee", "script"):
        api = await world.client.get(
            "/api/v1/metrics/script-quality",
            params={**WEEK, "group_by": group_by},
            headers=world.head,
        )
        body = api.json()
        assert figures["total-calls"] == str(body["total"]["calls"]) == "2"
        assert figures["total-score"] == str(body["total"]["score"])
        for group in body["groups"]:
            key = f"{group_by}-{group['key'] or 'none'}"
            assert figures[f"{key}-score"] == str(group["score"])
            assert figures[f"{key}-calls"] == str(group["calls"])
    assert figures["employee-" + world.employees["Boris"] + "-score"] == "0.0"
    for criterion in body["criteria"]:
        assert figures[f"criterion-{criterion['key']}-pass_rate"] == str(criterion["pass_rate"])
    assert figures["criterion-proof-pass_rate"] == "0.5"  # no on a1, yes on b1
    assert figures["criterion-convenience-pass_rate"] == "1.0"  # n/a on a1
    assert figures["criterion-courtesy-pass_rate"] == "0.5"


async def test_a_manager_sees_its_own_scores_and_cannot_score(
    app: object, database: Database, world: World
) -> None:
    async with browser(app, database, Role.MANAGER, world.employees["Anna"]) as page:
        answer = await page.get("/quality", params=WEEK)
        figures = figures_of(answer)
        assert figures["total-calls"] == "1"
        assert "employee-" + world.employees["Boris"] + "-score" not in figures
        own = await page.get(f"/quality/calls/{world.calls['a1']}")
        assert own.status_code == 200
        assert 'action="/quality/calls/' not in own.text  # managers read, never score
        colleague = await page.get(f"/quality/calls/{world.calls['b1']}")
        assert colleague.status_code == 404
        refused = await page.post(
            f"/quality/calls/{world.calls['a1']}/evaluations/{DEFAULT}",
            data={"answer-greeting": "yes", "csrf_token": csrf_of(own)},
        )
        assert refused.status_code == 403


async def test_scoring_a_call_stores_the_evaluation(
    app: object, database: Database, world: World
) -> None:
    call_id = world.calls["a2"]
    async with browser(app, database, Role.HEAD) as page:
        queue = await page.get("/quality", params=WEEK)
        queued = [value for name, value in figures_of(queue).items() if name.startswith("queue-")]
        # The page's queue runs from its period's first day to now.
        api_queue = await world.client.get(
            "/api/v1/evaluations/queue", params={"from": WEEK["from"]}, headers=world.head
        )
        assert queued == [item["call_id"] for item in api_queue.json()["items"]] == [call_id]
        form = await page.get(f"/quality/calls/{call_id}")
        assert form.status_code == 200
        assert 'name="answer-greeting" value="yes"' in form.text
        answers = {f"answer-{key}": value for key, value in all_yes(company="no").items()}
        without_token = await page.post(
            f"/quality/calls/{call_id}/evaluations/{DEFAULT}", data=answers
        )
        assert without_token.status_code == 403
        bad = await page.post(
            f"/quality/calls/{call_id}/evaluations/{DEFAULT}",
            data={"answer-greeting": "maybe", "csrf_token": csrf_of(form)},
        )
        assert bad.status_code == 422
        saved = await page.post(
            f"/quality/calls/{call_id}/evaluations/{DEFAULT}",
            data={**answers, "comment": "good call", "csrf_token": csrf_of(form)},
        )
        assert saved.status_code == 303
        shown = await page.get(saved.headers["location"])
    stored = await world.client.get(f"/api/v1/calls/{call_id}/evaluations", headers=world.head)
    (evaluation,) = stored.json()
    assert evaluation["comment"] == "good call"
    assert evaluation["answers"]["company"] == "no"
    assert math.isclose(evaluation["score"], 100 * 26 / 28, rel_tol=1e-12)  # no script
    assert figures_of(shown)["saved-score"] == str(evaluation["score"])
