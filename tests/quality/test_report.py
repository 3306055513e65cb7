"""The weekly report's "Script quality" section: json, csv, xlsx and html, English and Russian."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import pytest
from httpx import AsyncClient
from openpyxl import load_workbook

from app.db import Database
from tests.quality.support import World, all_yes, later, make_world

WEEK = "2026-W47"


@pytest.fixture
async def world(client: AsyncClient, database: Database, admin: dict[str, str]) -> World:
    w = await make_world(client, database, admin)
    await w.call("a1", number="+79160000001", script="first_call")
    await w.call("a2", number="+79160000002", script="first_call", start=later(30))
    await w.call(
        "b1", extension="102", number="+79160000003", script="second_call", start=later(60)
    )
    await w.score("a1", all_yes(proof="no", convenience="na"))  # 94.1…
    await w.score("a2", all_yes(courtesy="no"))  # 0, critical
    await w.score("b1", all_yes(need="no", decision_process="no", application="no"))  # 69.6…
    return w


async def weekly(world: World, headers: dict[str, str] | None = None, **params: Any) -> Any:
    response = await world.client.get(
        "/api/v1/reports/weekly", params={"week": WEEK, **params}, headers=headers or world.head
    )
    assert response.status_code == 200, response.text
    return response


async def test_the_json_section(world: World) -> None:
    section = (await weekly(world)).json()["script_quality"]
    first = 100 * 16 / 17
    assert section["checklist"]["id"] == "chk_cold_call_17"
    assert (section["total"]["calls"], section["total"]["critical_failed"]) == (3, 1)
    assert math.isclose(section["total"]["score"], (first + 0 + 100 * 16 / 23) / 3)
    managers = {g["label"]: g for g in section["managers"]}
    assert math.isclose(managers["Anna"]["score"], first / 2)
    assert managers["Anna"]["bands"] == {"excellent": 1, "good": 0, "needs_work": 0, "poor": 1}
    scripts = {g["label"]: g["calls"] for g in section["scripts"]}
    assert scripts == {"first_call": 2, "second_call": 1}
    assert len(section["criteria"]) == 17
    assert [b["band"] for b in section["outcomes"]["bands"]] == [
        "excellent",
        "good",
        "needs_work",
        "poor",
    ]


async def test_csv_carries_each_managers_score(world: World) -> None:
    body = (await weekly(world, format="csv")).content.decode("utf-8-sig")
    rows = {row["manager"]: row for row in csv.DictReader(io.StringIO(body))}
    assert math.isclose(float(rows["Anna"]["script_score"]), 100 * 16 / 17 / 2)
    assert (rows["Anna"]["scored_calls"], rows["Boris"]["scored_calls"]) == ("2", "1")
    assert rows["Total"]["scored_calls"] == "3"


@pytest.mark.parametrize(
    ("lang", "sheet", "criterion"),
    [
        ("en", "Script quality", "Polite and correct throughout; no rudeness or pressure"),
        ("ru", "Качество скриптов", "Вежлив и корректен, без грубости и давления"),
    ],
)
async def test_xlsx_has_a_script_quality_sheet(
    world: World, lang: str, sheet: str, criterion: str
) -> None:
    book = load_workbook(io.BytesIO((await weekly(world, format="xlsx", lang=lang)).content))
    assert sheet in book.sheetnames
    values = [cell.value for row in book[sheet].iter_rows() for cell in row if cell.value]
    assert criterion in values
    assert "Anna" in values


@pytest.mark.parametrize(
    ("lang", "heading", "criterion"),
    [
        ("en", "Script quality", "Named a concrete benefit or a reference customer"),
        ("ru", "Качество скриптов", "Назвал конкретную выгоду или пример клиента"),
    ],
)
async def test_html_has_a_script_quality_section(
    world: World, lang: str, heading: str, criterion: str
) -> None:
    page = (await weekly(world, format="html", lang=lang)).text
    assert 'id="script-quality"' in page
    part = page[page.index('id="script-quality"') :]
    assert heading in page
    assert criterion in part


async def test_a_week_without_scores_says_so(world: World) -> None:
    body = (await weekly(world, week="2026-W40")).json()["script_quality"]
    assert (body["total"]["calls"], body["managers"], body["criteria"][0]["yes"]) == (0, [], 0)
    page = (await weekly(world, week="2026-W40", format="html")).text
    assert "No call of this week was scored." in page
