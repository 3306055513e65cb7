"""The report's sections: one registry that the xlsx sheets and the html sections follow, and a
section added to it shows up in both with no renderer change."""

from __future__ import annotations

import io
from html.parser import HTMLParser

import pytest
from httpx import AsyncClient
from openpyxl import load_workbook

from app.reports import render_html, render_xlsx
from app.reports.i18n import Formatter, Lang, label
from app.reports.schemas import WeeklyReport
from app.reports.tables import (
    SECTIONS,
    Column,
    Section,
    Table,
    figure_cells,
    figure_column,
    make_table,
)
from tests.reports.fetch import AS_OF, WEEK, report


class _Sections(HTMLParser):
    """The ids of the page's ``<section>``s, and the text of its table cells."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.cells: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section" and dict(attrs).get("id"):
            self.ids.append(str(dict(attrs)["id"]))
        self._in_cell = tag in ("td", "th")

    def handle_endtag(self, tag: str) -> None:
        self._in_cell = False

    def handle_data(self, data: str) -> None:
        if self._in_cell and data.strip():
            self.cells.append(data.strip())


def _page(report: WeeklyReport, lang: Lang = "en") -> _Sections:
    parser = _Sections()
    parser.feed(render_html.render_html(report, lang).decode())
    return parser


def _cohort_profits(report: WeeklyReport, fmt: Formatter) -> list[Table]:
    """What a helper adds: a table spec over a part of the report, its columns from figures."""
    keys = ("leads_dialed", "profit_per_call")
    columns = [Column("week", fmt.label("cohort_week"), "text")]
    columns += [figure_column(key, fmt) for key in keys]
    records = [[cohort.week, *figure_cells(cohort, keys)] for cohort in report.cohorts]
    return [make_table("trend", fmt.label("trend"), columns, records)]


@pytest.fixture
async def weekly(client: AsyncClient, head: dict[str, str], worked: None) -> WeeklyReport:
    return WeeklyReport.model_validate(await report(client, head, week=WEEK, as_of=AS_OF[1]))


async def test_the_sheets_and_the_sections_follow_the_registry(weekly: WeeklyReport) -> None:
    book = load_workbook(io.BytesIO(render_xlsx.render_xlsx(weekly, "ru")))
    assert book.sheetnames == [label(section.key, "ru") for section in SECTIONS]
    # Every section has its anchor; the built-in ones keep theirs (links point at them).
    ids = _page(weekly).ids
    assert len(ids) == len(set(ids)) == len(SECTIONS)
    built_in = ["funnel", "money", "managers", "trend", "call-times", "losses"]
    assert [anchor for anchor in ids if anchor in built_in] == built_in


async def test_a_new_section_is_one_registry_row(
    weekly: WeeklyReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    extended = (*SECTIONS, Section("leads_by_cohort", _cohort_profits, empty="no_calls"))
    monkeypatch.setattr(render_xlsx, "SECTIONS", extended)
    monkeypatch.setattr(render_html, "SECTIONS", extended)

    book = load_workbook(io.BytesIO(render_xlsx.render_xlsx(weekly, "en")))
    title = label("leads_by_cohort", "en")
    assert book.sheetnames[-1] == title
    sheet = book[title]
    header = next(
        row for row in sheet.iter_rows() if [cell.value for cell in row[:3]] == [
            "Cohort week", "Leads dialled", "Profit per call"
        ]
    )  # fmt: skip
    body = [
        [cell.value for cell in row[:3]]
        for row in sheet.iter_rows(min_row=header[0].row + 1)
        if row[0].value is not None
    ]
    assert [row[0] for row in body] == [cohort.week for cohort in weekly.cohorts]
    w47 = next(cohort for cohort in weekly.cohorts if cohort.week == WEEK)
    assert w47.profit_per_call is not None
    assert body[[row[0] for row in body].index(WEEK)][1:] == [
        w47.leads_dialed,
        pytest.approx(float(w47.profit_per_call), abs=0.005),
    ]
    w47_row = header[0].row + 1 + [row[0] for row in body].index(WEEK)
    money = sheet.cell(w47_row, 3).number_format
    assert '" RUB"' in money  # money, from the figure's kind

    page = _page(weekly, "ru")
    assert page.ids[-1] == "leads-by-cohort"
    assert "Прибыль на звонок" in page.cells  # the figure's Russian label, from the table

    # With nothing to show, the section says so instead of an empty table.
    html = render_html.render_html(weekly.model_copy(update={"cohorts": []}), "en").decode()
    added = html[html.index('<section id="leads-by-cohort">') :]
    assert label("no_calls", "en") in added
    assert "<table>" not in added
