"""The Reports page: any week's report framed in the page, its files the API's own."""

from __future__ import annotations

import io

import pytest
from httpx import AsyncClient
from openpyxl import load_workbook

from app.auth.roles import Role
from app.db import Database
from tests.dashboard.browsing import browser
from tests.dashboard.pages import figures_of
from tests.quality.support import World, make_world


def _cells(workbook: bytes) -> dict[str, list[tuple[object, ...]]]:
    book = load_workbook(io.BytesIO(workbook))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


WEEK = {"week": "2026-W47", "as_of": "2026-11-30T09:00:00Z"}


@pytest.fixture
async def world(client: AsyncClient, database: Database, admin: dict[str, str]) -> World:
    world = await make_world(client, database, admin)
    await world.call("a1", extension="101", number="+79161000001", outcome="presented")
    return world


@pytest.mark.parametrize("role", [Role.ADMIN, Role.HEAD])
async def test_the_files_are_the_apis(
    app: object, database: Database, world: World, role: Role
) -> None:
    async with browser(app, database, role) as page:
        shown = await page.get("/reports", params=WEEK)
        assert shown.status_code == 200
        assert figures_of(shown)["download-xlsx"] == "/reports/weekly.xlsx?week=2026-W47"
        assert '<iframe class="report-frame" src="/reports/weekly.html?week=2026-W47' in shown.text
        files = {
            format_: await page.get(f"/reports/weekly.{format_}", params={**WEEK, "lang": "ru"})
            for format_ in ("csv", "html", "xlsx")
        }
    for format_, answer in files.items():
        api = await world.client.get(
            "/api/v1/reports/weekly",
            params={**WEEK, "format": format_, "lang": "ru"},
            headers=world.head,
        )
        assert answer.status_code == api.status_code == 200
        assert answer.headers["content-type"] == api.headers["content-type"]
        assert answer.headers["content-disposition"] == api.headers["content-disposition"]
        if format_ == "xlsx":  # a workbook carries the moment it was written: compare cells
            assert _cells(answer.content) == _cells(api.content)
        else:
            assert answer.content == api.content
    assert "Еженедельный отчёт" in files["html"].text
    assert files["html"].headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in files["html"].headers["content-security-policy"]


async def test_a_manager_is_refused_as_by_the_api(
    app: object, database: Database, world: World
) -> None:
    async with browser(app, database, Role.MANAGER, world.employees["Anna"]) as page:
        assert (await page.get("/reports")).status_code == 403
        assert (await page.get("/reports/weekly.csv", params=WEEK)).status_code == 403
        overview = await page.get("/calls")
    assert 'href="/reports"' not in overview.text
    api = await world.client.get("/api/v1/reports/weekly", headers=world.managers["Anna"])
    assert api.status_code == 403
