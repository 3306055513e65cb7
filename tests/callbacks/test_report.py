"""The weekly report's "Missed calls and callbacks" over the callbacks example, in every format."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from httpx import AsyncClient
from openpyxl import load_workbook

from app.db import Database
from tests.callbacks.example import CASES_AS_OF, DATASET, QUERIES
from tests.metrics.compare import assert_same
from tests.metrics.loading import load_dataset

WEEK = "2026-W47"  # 2026-11-16 … 2026-11-22, the example's period


@pytest.fixture
async def example(database: Database) -> None:
    await load_dataset(database, DATASET)


async def _report(client: AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get(
        "/api/v1/reports/weekly",
        params={"week": WEEK, "as_of": CASES_AS_OF, **params},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response


async def test_json_section(client: AsyncClient, head: dict[str, str], example: None) -> None:
    section = (await _report(client, head)).json()["callbacks"]
    assert_same(section["this_week"], QUERIES[0]["result"]["total"])
    # The week before holds L13's case alone: opened on Friday 13th, never called back in time.
    before = section["previous_week"]
    assert (before["cases"], before["lost"], before["sla_breached"]) == (1, 1, 1)
    expected_groups = {group["key"]: group for group in QUERIES[1]["result"]["groups"]}
    managers = {m.pop("employee_id"): m for m in section["managers"]}
    assert {key: m.pop("name") for key, m in managers.items()} == {"e1": "Anna", "e2": "Boris"}
    for key, manager in managers.items():
        assert_same(manager, {k: v for k, v in expected_groups[key].items() if k != "key"})
    # The one hot lead lost, by name: L10 had a long first conversation a week before.
    (lost,) = section["hot_lost"]
    assert lost["company"] == "Company 10"
    assert lost["phone"] == "+79000000010"
    assert lost["opened_at"] == "2026-11-19T09:00:00Z"
    assert lost["owner_name"] == "Boris"
    assert lost["first_attempt_at"] is None


async def test_csv_carries_the_callbacks_per_manager(
    client: AsyncClient, head: dict[str, str], example: None
) -> None:
    body = (await _report(client, head, format="csv")).content.decode("utf-8-sig")
    rows = {row["employee_id"]: row for row in csv.DictReader(io.StringIO(body))}
    assert rows["e1"]["callbacks_cases"] == "5"
    assert rows["e2"]["callbacks_cases"] == "6"
    assert rows[""]["manager"] == "Total"
    assert rows[""]["callbacks_cases"] == "11"
    assert rows[""]["callbacks_hot_lost"] == "1"
    assert float(rows["e1"]["callbacks_within_sla_rate"]) == 0.6
    assert rows["e2"]["callbacks_first_attempt_median"] == "1260"


@pytest.mark.parametrize(
    ("lang", "sheet", "title"),
    [
        ("en", "Missed calls and callbacks", "Called back within the SLA"),
        ("ru", "Пропущенные звонки и перезвоны", "Доля перезвонов в срок"),
    ],
)
async def test_xlsx_sheet(
    client: AsyncClient, head: dict[str, str], example: None, lang: str, sheet: str, title: str
) -> None:
    body = (await _report(client, head, format="xlsx", lang=lang)).content
    values = [
        cell.value for row in load_workbook(io.BytesIO(body))[sheet].iter_rows() for cell in row
    ]
    assert title in values
    assert "Company 10" in values
    assert "+79000000010" in values
    assert "2026-11-19 12:00" in values  # local time of the missed call


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ("Missed calls and callbacks", "Hot leads lost", "Anna")),
        ("ru", ("Пропущенные звонки и перезвоны", "Потеряно горячих", "Anna")),
    ],
)
async def test_html_section(
    client: AsyncClient, head: dict[str, str], example: None, lang: str, words: tuple[str, ...]
) -> None:
    page = (await _report(client, head, format="html", lang=lang)).text
    start = page.index('id="callbacks"')
    section = page[start : page.index("</section>", start)]
    for word in (*words, "Company 10", "+79000000010"):
        assert word in section, word


async def test_a_week_without_missed_calls(client: AsyncClient, head: dict[str, str]) -> None:
    body = (await _report(client, head)).json()["callbacks"]
    assert body["this_week"]["cases"] == 0
    assert body["managers"] == []
    assert body["hot_lost"] == []
    page = (await _report(client, head, format="html")).text
    start = page.index('id="callbacks"')
    assert "No missed calls this week." in page[start : page.index("</section>", start)]
