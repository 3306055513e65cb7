"""The Calls page: the API's list for the same query, tagging, Range playback, the heat map."""

from __future__ import annotations

import re

import pytest
from httpx import AsyncClient

from app.auth.roles import Role
from app.config import Settings
from app.db import Database
from tests.dashboard.browsing import browser
from tests.dashboard.pages import csrf_of, figures_of
from tests.quality.support import World, later, make_world
from tests.recordings.test_playback import AUDIO, stored_call

WEEK = {"from": "2026-11-16", "to": "2026-11-23"}
_ROW = re.compile(r'<tr id="call-([^"]+)"')


def listed(page_text: str) -> list[str]:
    return _ROW.findall(page_text)


@pytest.fixture
async def world(client: AsyncClient, database: Database, admin: dict[str, str]) -> World:
    world = await make_world(client, database, admin)
    await world.call("a1", extension="101", number="+79161000001", start=later(0))
    await world.call("a2", extension="101", number="+79161000002", start=later(30), talk=0)
    await world.call("b1", extension="102", number="+79161000003", start=later(60))
    return world


async def api_ids(world: World, headers: dict[str, str], **query: str) -> list[str]:
    answer = await world.client.get("/api/v1/calls", params=query, headers=headers)
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


async def test_the_list_is_the_apis_for_the_same_query(
    app: object, database: Database, world: World
) -> None:
    await world.client.patch(
        f"/api/v1/calls/{world.calls['b1']}", json={"outcome": "presented"}, headers=world.admin
    )
    async with browser(app, database, Role.HEAD) as page:
        for query in (
            WEEK,
            {**WEEK, "outcome": "presented"},
            {**WEEK, "status": "no_answer"},
            {**WEEK, "employee_id": world.employees["Boris"]},
            # A filter form's "any" sends blanks: they are no filter at all.
            {**WEEK, "direction": "", "outcome": ""},
        ):
            answer = await page.get("/calls", params=query)
            assert answer.status_code == 200, answer.text
            api_query = {name: value for name, value in query.items() if value}
            assert listed(answer.text) == await api_ids(world, world.head, **api_query)
        presented = await page.get("/calls", params={**WEEK, "outcome": "presented"})
        assert listed(presented.text) == [world.calls["b1"]]
        assert listed((await page.get("/calls", params=WEEK)).text) == [
            world.calls["b1"],
            world.calls["a2"],
            world.calls["a1"],
        ]


async def test_a_manager_sees_its_own_calls_only(
    app: object, database: Database, world: World
) -> None:
    async with browser(app, database, Role.MANAGER, world.employees["Anna"]) as page:
        answer = await page.get("/calls", params=WEEK)
        assert answer.status_code == 200
        assert listed(answer.text) == [world.calls["a2"], world.calls["a1"]]
        assert listed(answer.text) == await api_ids(world, world.managers["Anna"], **WEEK)
        colleague = await page.post(
            f"/calls/{world.calls['b1']}/tag",
            data={"outcome": "refused", "csrf_token": csrf_of(answer)},
        )
        assert colleague.status_code == 404
        assert (await page.get(f"/calls/{world.calls['b1']}/recording")).status_code == 404


async def test_tagging_changes_the_call_and_needs_the_csrf_token(
    app: object, database: Database, world: World
) -> None:
    call_id = world.calls["a1"]
    async with browser(app, database, Role.MANAGER, world.employees["Anna"]) as page:
        form = await page.get("/calls", params=WEEK)
        assert f'action="/calls/{call_id}/tag"' in form.text
        forged = await page.post(f"/calls/{call_id}/tag", data={"outcome": "presented"})
        assert forged.status_code == 403
        tagged = await page.post(
            f"/calls/{call_id}/tag",
            data={
                "outcome": "presented",
                "script_id": world.scripts["first_call"],
                "next": "/calls?from=2026-11-16",
                "csrf_token": csrf_of(form),
            },
        )
        assert tagged.status_code == 303
        assert tagged.headers["location"] == f"/calls?from=2026-11-16#call-{call_id}"
    call = (await world.client.get(f"/api/v1/calls/{call_id}", headers=world.head)).json()
    assert (call["outcome"], call["script_id"]) == ("presented", world.scripts["first_call"])
    async with browser(app, database, Role.MANAGER, world.employees["Anna"]) as page:
        form = await page.get("/calls", params=WEEK)
        cleared = await page.post(
            f"/calls/{call_id}/tag",
            data={"outcome": "", "script_id": "", "csrf_token": csrf_of(form)},
        )
        assert cleared.status_code == 303
        bad = await page.post(
            f"/calls/{call_id}/tag", data={"outcome": "sold", "csrf_token": csrf_of(form)}
        )
        assert bad.status_code == 422
    call = (await world.client.get(f"/api/v1/calls/{call_id}", headers=world.head)).json()
    assert (call["outcome"], call["script_id"]) == (None, None)


async def test_the_heat_map_is_the_apis_call_statistics(
    app: object, database: Database, world: World
) -> None:
    stats = await world.client.get(
        "/api/v1/metrics/calls", params={**WEEK, "group_by": "weekday_hour"}, headers=world.head
    )
    groups = {group["key"]: group for group in stats.json()["groups"]}
    assert set(groups) == {"1-10", "1-11"}  # 07:00 and 08:00 UTC are 10 and 11 in Moscow
    async with browser(app, database, Role.HEAD) as page:
        answer = await page.get("/calls", params=WEEK)
    figures = figures_of(answer)
    assert figures["calls"] == str(stats.json()["total"]["calls"]) == "3"
    assert figures["answered"] == "2"
    for key, group in groups.items():
        assert figures[f"cell-{key}"] == f"{group['answered']}/{group['calls']}"
    assert figures["cell-1-10"] == "1/2"
    assert "<svg" in answer.text


async def test_a_recording_plays_with_ranges_for_the_session(
    app: object, client: AsyncClient, database: Database, settings: Settings
) -> None:
    call_id = await stored_call(database, settings)
    assert (await client.get(f"/calls/{call_id}/recording")).status_code == 303  # signed out
    async with browser(app, database, Role.HEAD) as page:
        whole = await page.get(f"/calls/{call_id}/recording")
        part = await page.get(f"/calls/{call_id}/recording", headers={"Range": "bytes=5000-6023"})
        beyond = await page.get(f"/calls/{call_id}/recording", headers={"Range": "bytes=20000-"})
        listing = await page.get("/calls")
    assert (whole.status_code, whole.content) == (200, AUDIO)
    assert part.status_code == 206
    assert part.content == AUDIO[5000:6024]
    assert part.headers["content-range"] == f"bytes 5000-6023/{len(AUDIO)}"
    assert part.headers["accept-ranges"] == "bytes"
    assert beyond.status_code == 416
    assert f'<audio controls preload="none" src="/calls/{call_id}/recording"' in listing.text
