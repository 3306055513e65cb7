"""The workbook read back with openpyxl: the json's figures, as real numbers, and its charts."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from typing import Any

import pytest
from httpx import AsyncClient
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from app.money import CENT
from tests.reports.fetch import AS_OF, DAYS, WEEK, api, report, report_file


def _rows(sheet: Worksheet, key_column: int, heading: str) -> list[dict[str, Any]]:
    """The table whose heading row has ``heading`` in ``key_column``, as dicts by heading."""
    rows = list(sheet.iter_rows(values_only=True))
    top = next(i for i, row in enumerate(rows) if row[key_column - 1] == heading)
    headings = rows[top]
    table = []
    for row in rows[top + 1 :]:
        if row[key_column - 1] is None:
            break
        table.append(dict(zip(headings, row, strict=False)))
    return table


def _money(value: object) -> str:
    assert isinstance(value, int | float), value
    return str(Decimal(str(value)).quantize(CENT))


async def _workbook(client: AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    body = (await report_file(client, headers, format="xlsx", **params)).content
    return load_workbook(io.BytesIO(body))


async def test_the_workbook_holds_the_funnels_figures(
    client: AsyncClient, head: dict[str, str], worked: None
) -> None:
    as_of = AS_OF[1]
    book = await _workbook(client, head, week=WEEK, as_of=as_of)
    assert book.sheetnames == [
        "Funnel",
        "Money",
        "Managers",
        "Cohorts",
        "When calls are answered",
        "Why leads are lost",
        "Missed calls and callbacks",
        "Script quality",
    ]
    funnel = await api(
        client, head, "metrics/funnel", **DAYS, mode="activity", as_of=as_of, group_by="employee"
    )
    total = funnel["total"]

    steps = {row["Step"]: row for row in _rows(book["Funnel"], 1, "Step")}
    assert steps["Dials"]["This week"] == total["dials"]
    assert steps["Leads dialled"]["This week"] == total["leads_dialed"]
    labels = ("Reached", "First conversation", "Second call", "Application", "Contract")
    for label, stage in zip(labels, total["stages"], strict=True):
        assert steps[label]["This week"] == stage["count"]
        assert steps[label]["Conversion"] == stage["conversion"]
    assert steps["Dials"]["Change"] == 12

    money = {row["Figure"]: row for row in _rows(book["Money"], 1, "Figure")}
    economics = total["economics"]
    assert _money(money["Cost"]["This week"]) == economics["cost"] == "324.00"
    assert _money(money["Cost per dial"]["This week"]) == economics["cost_per_dial"]
    assert _money(money["Profit per call"]["This week"]) == economics["profit_per_call"]
    assert (
        _money(money["Profit per application"]["This week"])
        == (economics["profit_per_application"])
    )
    assert money["ROI"]["This week"] == economics["roi"]

    managers = _rows(book["Managers"], 1, "Manager")
    assert [row["Manager"] for row in managers] == ["Boris", "Anna", "Total"]
    *people, totals = managers
    groups = {group["key"]: group for group in funnel["groups"]}
    for row in people:
        group = groups[row["ID"]]
        assert row["Dials"] == group["dials"]
        assert _money(row["Profit per call"]) == group["economics"]["profit_per_call"]
    assert _money(totals["Cost"]) == economics["cost"]
    assert totals["Dials"] == sum(row["Dials"] for row in people) == total["dials"]
    assert totals["Calls"] == sum(row["Calls"] for row in people) == 16
    assert totals["Talk time"].total_seconds() == 1408  # a duration, read back as one


async def test_number_formats_and_layout(
    client: AsyncClient, head: dict[str, str], worked: None
) -> None:
    book = await _workbook(client, head, week=WEEK, as_of=AS_OF[1])
    sheet = book["Managers"]
    top = next(row for row in sheet.iter_rows() if row[0].value == "Manager")
    header = top[0].row
    assert sheet.freeze_panes == f"B{header + 1}"
    formats = {cell.value: sheet.cell(header + 1, cell.column).number_format for cell in top}
    assert formats["Cost"] == '#,##0.00" RUB";[Red]-#,##0.00" RUB"'
    assert formats["Answer rate"] == "0.0%"
    assert formats["Talk time"] == "[h]:mm:ss"
    assert formats["Dials"] == "#,##0"
    # The two kinds of column are told apart by a heading above them.
    groups = {cell.value for cell in sheet[header - 1] if cell.value}
    assert groups == {
        "Their leads: the funnel",
        "Calls they made",
        "Missed calls and callbacks",
        "Script quality",
    }
    last = top[-1].column_letter  # the employee ids: the last column
    assert all(sheet.column_dimensions[cell.column_letter].width >= 8 for cell in top)
    assert sheet.column_dimensions[last].hidden
    money = book["Money"]
    change = next(row for row in money.iter_rows() if row[0].value == "Cost")[3]
    assert change.number_format.startswith("+")  # a change shows its sign


async def test_native_charts(client: AsyncClient, head: dict[str, str], worked: None) -> None:
    body = (await report_file(client, head, week=WEEK, format="xlsx")).content
    book = load_workbook(io.BytesIO(body))
    # openpyxl does not read charts back; the package holds them as DrawingML parts.
    with zipfile.ZipFile(io.BytesIO(body)) as package:
        charts = sorted(name for name in package.namelist() if name.startswith("xl/charts/"))
        kinds = [
            "bar" if b"barChart>" in package.read(name) else "line"
            for name in charts
            if name.endswith(".xml")
        ]
    assert kinds == ["bar", "bar", "line", "line"]  # funnel, managers, two cohort trends
    assert book["Funnel"].freeze_panes is not None


@pytest.mark.parametrize("week", [WEEK, "2026-W30"])
async def test_russian_sheets_and_headings(
    client: AsyncClient, head: dict[str, str], worked: None, week: str
) -> None:
    book = await _workbook(client, head, week=week, lang="ru", as_of=AS_OF[1])
    assert book.sheetnames[:4] == ["Воронка", "Деньги", "Менеджеры", "Когорты"]
    steps = [row["Этап"] for row in _rows(book["Воронка"], 1, "Этап")]
    assert steps == [
        "Звонки",
        "Лиды в обзвоне",
        "Дозвон",
        "Первый разговор",
        "Второй звонок",
        "Заявка",
        "Договор",
    ]
    cost = _rows(book["Менеджеры"], 1, "Менеджер")[-1]
    assert cost["Менеджер"] == "Итого"
    body = await report(client, head, week=week, as_of=AS_OF[1])
    assert _money(cost["Затраты"]) == body["managers_total"]["leads"]["cost"]
