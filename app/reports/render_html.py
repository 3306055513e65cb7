"""html: one self-contained page (inline CSS and SVG, nothing fetched), for screens and paper."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from app.reports import charts
from app.reports.i18n import DASH, Formatter, Lang, weekday_name
from app.reports.schemas import FunnelStep, MoneyChange, WeeklyReport
from app.reports.tables import (
    Column,
    Kind,
    Table,
    cohort_table,
    funnel_table,
    loss_table,
    manager_table,
    money_table,
)

_ENVIRONMENT = Environment(
    loader=PackageLoader("app.reports", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
# Columns the page leaves to the spreadsheet, to fit a laptop screen and a sheet of paper: ids
# mean nothing to a reader, the week names its first day, the profit columns carry the cost.
_HIDDEN_COLUMNS = {
    "managers": frozenset({"employee_id"}),
    "cohorts": frozenset({"first_day", "cost", "forecast_source"}),
}


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    css: str = ""


@dataclass(frozen=True, slots=True)
class HtmlTable:
    groups: list[tuple[str, int]]  # (heading, columns spanned); empty when none
    headers: list[Cell]
    rows: list[tuple[bool, list[Cell]]]  # (is a totals row, cells)
    note: str | None


@dataclass(frozen=True, slots=True)
class Kpi:
    label: str
    value: str
    change: str
    css: str  # good / bad / flat


def render_html(report: WeeklyReport, lang: Lang) -> bytes:
    fmt = Formatter(lang, report.currency)
    period = report.period
    context = {
        "lang": lang,
        "fmt": fmt,
        "report": report,
        "days": fmt.day_range(period.first_day, period.last_day),
        "as_of": f"{period.as_of:%Y-%m-%d %H:%M} UTC",
        "empty": report.funnel[0].count == 0,
        "kpis": _kpis(report, fmt),
        "funnel_chart": _funnel_chart(report, fmt),
        "funnel": _html_table(funnel_table(report, fmt), fmt),
        "money": _html_table(money_table(report, fmt), fmt),
        "manager_chart": _manager_chart(report, fmt),
        "managers": _html_table(manager_table(report, fmt), fmt, currency_in_header=True),
        "trend_charts": _trend_charts(report, fmt),
        "cohorts": _html_table(cohort_table(report, fmt), fmt, currency_in_header=True),
        "heat_map": _heat_map(report, fmt),
        "losses": _html_table(loss_table(report, fmt), fmt),
    }
    return _ENVIRONMENT.get_template("weekly.html.j2").render(context).encode()


# --------------------------------------------------------------------------- tables


def _html_table(table: Table, fmt: Formatter, *, currency_in_header: bool = False) -> HtmlTable:
    """``currency_in_header`` writes "Cost, RUB" once instead of the currency in every cell,
    which keeps wide tables within the page."""
    hidden = _HIDDEN_COLUMNS.get(table.key, frozenset())
    shown = [(i, c) for i, c in enumerate(table.columns) if c.key not in hidden]
    groups: list[tuple[str, int]] = []
    if any(column.group for _, column in shown):
        for _, column in shown:
            heading = column.group or ""
            if groups and groups[-1][0] == heading:
                groups[-1] = (heading, groups[-1][1] + 1)
            else:
                groups.append((heading, 1))
    headers = [
        Cell(
            f"{c.label}, {fmt.currency_sign}"
            if currency_in_header and c.kind == "money"
            else c.label,
            "" if c.kind == "text" else "num",
        )
        for _, c in shown
    ]
    first_total = len(table.frame) - table.totals
    rows = [
        (
            number >= first_total,
            [
                _cell(table.kind(number, column), column, values[i], fmt, currency_in_header)
                for i, column in shown
            ],
        )
        for number, values in enumerate(table.rows())
    ]
    return HtmlTable(groups, headers, rows, table.note)


def _cell(kind: Kind, column: Column, value: object, fmt: Formatter, bare_money: bool) -> Cell:
    if value is None:
        return Cell(DASH, "" if kind == "text" else "num")
    if kind == "text":
        return Cell(str(value))
    if bare_money and kind == "money" and isinstance(value, Decimal):
        text = fmt.number(value, 2)
    else:
        text = _formatted(kind, value, fmt)
    if column.key.startswith("change") and isinstance(value, int | float | Decimal):
        # A change is neither good nor bad in itself (cost down is good): signed, not coloured.
        return Cell(fmt.signed(text, value), "num")
    loss = kind == "money" and isinstance(value, Decimal) and value < 0
    return Cell(text, "num neg" if loss else "num")


def _formatted(kind: Kind, value: object, fmt: Formatter) -> str:
    if kind == "money" and isinstance(value, Decimal):
        return fmt.money(value)
    if kind == "percent" and isinstance(value, float):
        return fmt.percent(value)
    if kind == "duration" and isinstance(value, int):
        return fmt.duration(value)
    if kind == "date" and isinstance(value, date):
        return fmt.date(value)
    if kind == "int" and isinstance(value, int):
        return fmt.number(value)
    return str(value)


# --------------------------------------------------------------------------- headline figures


def _kpis(report: WeeklyReport, fmt: Formatter) -> list[Kpi]:
    steps = {step.step: step for step in report.funnel}
    money = report.money

    def count(step: FunnelStep) -> Kpi:
        change = fmt.signed(fmt.number(step.change), step.change)
        if step.change_pct is not None:
            change += f" ({fmt.signed(fmt.percent(step.change_pct), step.change_pct)})"
        return Kpi(fmt.label(step.step), fmt.number(step.count), change, _tone(step.change))

    def amount(name: str, figure: MoneyChange, *, up_is_good: bool = True) -> Kpi:
        change = DASH
        if figure.change is not None:
            change = fmt.signed(fmt.money(figure.change), figure.change)
            if figure.change_pct is not None:
                change += f" ({fmt.signed(fmt.percent(figure.change_pct), figure.change_pct)})"
        tone = _tone(figure.change, up_is_good=up_is_good)
        return Kpi(fmt.label(name), fmt.money(figure.value), change, tone)

    roi = money.roi
    return [
        count(steps["dials"]),
        count(steps["reached"]),
        count(steps["application"]),
        count(steps["contract"]),
        amount("cost", money.cost, up_is_good=False),
        amount("profit_per_call", money.profit_per_call),
        amount("profit_per_application", money.profit_per_application),
        Kpi(
            fmt.label("roi"),
            fmt.percent(roi.value),
            fmt.points(roi.change),
            _tone(roi.change),
        ),
    ]


def _tone(change: int | float | Decimal | None, *, up_is_good: bool = True) -> str:
    if change is None or change == 0:
        return "flat"
    return "good" if (change > 0) == up_is_good else "bad"


# --------------------------------------------------------------------------- charts


def _funnel_chart(report: WeeklyReport, fmt: Formatter) -> Markup:
    bars = [
        charts.FunnelBar(
            label=fmt.label(step.step),
            count=step.count,
            previous=step.previous,
            note=fmt.number(step.count)
            + ("" if step.conversion is None else f" · {fmt.percent(step.conversion)}"),
        )
        for step in report.funnel
        if step.step != "dials"  # dials are calls, the bars below are leads
    ]
    return charts.funnel_chart(
        bars,
        title=fmt.label("funnel"),
        this_week=fmt.label("this_week"),
        previous_week=fmt.label("previous_week"),
    )


def _manager_chart(report: WeeklyReport, fmt: Formatter) -> Markup | None:
    if not report.managers:
        return None
    bars = [
        (
            row.name or fmt.label("no_employee"),
            None if row.leads.profit_per_call is None else float(row.leads.profit_per_call),
            fmt.money(row.leads.profit_per_call),
        )
        for row in report.managers
    ]
    return charts.diverging_bars(bars, title=fmt.label("profit_per_call"))


def _trend_charts(report: WeeklyReport, fmt: Formatter) -> Sequence[tuple[str, Markup]]:
    """(caption, chart): the cohorts' volume at the first stages, and their profit per call."""
    cohorts = report.cohorts
    weeks = [cohort.week.split("-")[1] for cohort in cohorts]

    def money(values: Sequence[Decimal | None]) -> list[float | None]:
        return [None if value is None else float(value) for value in values]

    volume = charts.line_chart(
        weeks,
        [
            charts.Series(
                fmt.label("leads_dialed"), charts.BLUE, [c.leads_dialed for c in cohorts]
            ),
            charts.Series(fmt.label("reached"), charts.TEAL, [c.reached for c in cohorts]),
            charts.Series(
                fmt.label("conversation"), charts.ORANGE, [c.conversation for c in cohorts]
            ),
            charts.Series(
                fmt.label("application"), charts.PURPLE, [c.application for c in cohorts]
            ),
        ],
        title=f"{fmt.label('trend')}: {fmt.label('leads_dialed')}",
        value_label=fmt.number,
        width=540,
    )
    profit = charts.line_chart(
        weeks,
        [
            charts.Series(
                fmt.label("realised"), charts.BLUE, money([c.profit_per_call for c in cohorts])
            ),
            charts.Series(
                fmt.label("expected"),
                charts.GREEN,
                money([c.expected_profit_per_call for c in cohorts]),
                dashed=True,
            ),
        ],
        title=f"{fmt.label('trend')}: {fmt.label('profit_per_call')}",
        value_label=lambda value: f"{fmt.number(value)}\u00a0{fmt.currency_sign}",
        width=540,
    )
    return [(fmt.label("leads_by_cohort"), volume), (fmt.label("profit_per_call"), profit)]


def _heat_map(report: WeeklyReport, fmt: Formatter) -> Markup:
    times = report.call_times
    return charts.heat_map(
        times.hours,
        [
            charts.HeatRow(
                weekday_name(row.weekday, fmt.lang),
                [(cell.answer_rate, cell.calls) for cell in row.cells],
            )
            for row in times.weekdays
        ],
        title=fmt.label("call_times"),
        no_calls=fmt.label("no_calls"),
        percent=lambda share: fmt.percent(share, 0),
    )
