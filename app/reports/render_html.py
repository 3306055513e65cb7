"""html: one self-contained page (inline CSS and SVG, nothing fetched), for screens and paper."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from app.reports import charts
from app.reports.i18n import DASH, Formatter, Lang, weekday_name
from app.reports.schemas import CallTimes, FunnelStep, MoneyChange, RatioChange, WeeklyReport
from app.reports.tables import SECTIONS, TREND_PROFIT, Column, Kind, Section, Table
from app.reports.weekly import MANAGERS_SORTED_BY

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
class HtmlSection:
    id: str
    css: str
    heading: str
    intro: Markup | None  # charts above the tables
    tables: list[HtmlTable]
    narrow: bool  # tables at the charts' width
    empty: str | None  # said when there is nothing to show
    note: str | None


@dataclass(frozen=True, slots=True)
class Layout:
    """How the page shows a section beyond its tables; every field has a plain default."""

    id: str | None = None  # the anchor; default: the key with dashes
    css: str = ""  # "long": may break across pages; "wide": smaller type
    heading: Callable[[Formatter], str] | None = None  # default: the section's label
    intro: Callable[[WeeklyReport, Formatter], Markup | None] | None = None
    show_tables: bool = True  # False: the charts say it all (the xlsx keeps the numbers)
    narrow: bool = False
    currency_in_header: bool = False
    note: str | None = None  # a label key, after the tables


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
        "sections": [_section(section, report, fmt) for section in SECTIONS],
    }
    return _ENVIRONMENT.get_template("weekly.html.j2").render(context).encode()


def _section(section: Section, report: WeeklyReport, fmt: Formatter) -> HtmlSection:
    layout = _LAYOUTS.get(section.key, Layout())
    tables = (
        [
            _html_table(table, fmt, currency_in_header=layout.currency_in_header)
            for table in section.tables(report, fmt)
        ]
        if layout.show_tables
        else []
    )
    empty = None
    if section.empty is not None and not any(table.rows for table in tables):
        tables, empty = [], fmt.label(section.empty)
    return HtmlSection(
        id=layout.id or section.key.replace("_", "-"),
        css=layout.css,
        heading=layout.heading(fmt) if layout.heading else fmt.label(section.key),
        intro=layout.intro(report, fmt) if layout.intro else None,
        tables=tables,
        narrow=layout.narrow,
        empty=empty,
        note=fmt.label(layout.note) if layout.note else None,
    )


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
    if kind == "number" and isinstance(value, int | float):
        return fmt.number(value, 2)
    return str(value)


# --------------------------------------------------------------------------- headline figures


# (figure, whether up is good): the week's steps are counts, the rest the week's money.
_KPIS: tuple[tuple[str, bool], ...] = (
    ("dials", True),
    ("reached", True),
    ("application", True),
    ("contract", True),
    ("cost", False),
    ("profit_per_call", True),
    ("profit_per_application", True),
    ("roi", True),
)


def _kpis(report: WeeklyReport, fmt: Formatter) -> list[Kpi]:
    steps = {step.step: step for step in report.funnel}

    def count(step: FunnelStep) -> Kpi:
        change = fmt.signed(fmt.number(step.change), step.change)
        if step.change_pct is not None:
            change += f" ({fmt.signed(fmt.percent(step.change_pct), step.change_pct)})"
        return Kpi(fmt.label(step.step), fmt.number(step.count), change, _tone(step.change))

    def amount(name: str, figure: MoneyChange, *, up_is_good: bool) -> Kpi:
        change = DASH
        if figure.change is not None:
            change = fmt.signed(fmt.money(figure.change), figure.change)
            if figure.change_pct is not None:
                change += f" ({fmt.signed(fmt.percent(figure.change_pct), figure.change_pct)})"
        tone = _tone(figure.change, up_is_good=up_is_good)
        return Kpi(fmt.label(name), fmt.money(figure.value), change, tone)

    def share(name: str, figure: RatioChange, *, up_is_good: bool) -> Kpi:
        tone = _tone(figure.change, up_is_good=up_is_good)
        return Kpi(fmt.label(name), fmt.percent(figure.value), fmt.points(figure.change), tone)

    kpis = []
    for key, up_is_good in _KPIS:
        if key in steps:
            kpis.append(count(steps[key]))
            continue
        change = report.money.change(key)
        if isinstance(change, MoneyChange):
            kpis.append(amount(key, change, up_is_good=up_is_good))
        else:
            kpis.append(share(key, change, up_is_good=up_is_good))
    return kpis


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


# What the charts plot, by key of app/metrics/figures.py (labels come from there).
_MANAGER_BARS = MANAGERS_SORTED_BY  # the figure the managers are ranked by
# The cohorts' volume: leads dialled and the stages that carry most leads.
_VOLUME_SERIES = (
    ("leads_dialed", charts.BLUE),
    ("reached", charts.TEAL),
    ("conversation", charts.ORANGE),
    ("application", charts.PURPLE),
)
# (legend, figure, colour, dashed): the realised profit and its forecast.
_PROFIT_SERIES = (
    ("realised", TREND_PROFIT[0], charts.BLUE, False),
    ("expected", TREND_PROFIT[1], charts.GREEN, True),
)


def _float(value: object) -> float | None:
    if value is not None and not isinstance(value, int | float | Decimal):
        raise TypeError(f"not a number: {value!r}")
    return None if value is None else float(value)


def _manager_chart(report: WeeklyReport, fmt: Formatter) -> Markup | None:
    if not report.managers:
        return None
    bars = []
    for row in report.managers:
        value = row.leads.figure_values()[_MANAGER_BARS]
        bars.append((row.name or fmt.label("no_employee"), _float(value), fmt.money(value)))
    return charts.diverging_bars(bars, title=fmt.label(_MANAGER_BARS))


def _trend_charts(report: WeeklyReport, fmt: Formatter) -> Sequence[tuple[str, Markup]]:
    """(caption, chart): the cohorts' volume at the first stages, and their profit per call."""
    cohorts = [cohort.figure_values() for cohort in report.cohorts]
    weeks = [cohort.week.split("-")[1] for cohort in report.cohorts]
    volume = charts.line_chart(
        weeks,
        [
            charts.Series(fmt.label(key), colour, [values[key] for values in cohorts])
            for key, colour in _VOLUME_SERIES
        ],
        title=f"{fmt.label('trend')}: {fmt.label(_VOLUME_SERIES[0][0])}",
        value_label=fmt.number,
        width=540,
    )
    profit_figure = fmt.label(_PROFIT_SERIES[0][1])
    profit = charts.line_chart(
        weeks,
        [
            charts.Series(
                fmt.label(legend),
                colour,
                [_float(values[key]) for values in cohorts],
                dashed=dashed,
            )
            for legend, key, colour, dashed in _PROFIT_SERIES
        ],
        title=f"{fmt.label('trend')}: {profit_figure}",
        value_label=lambda value: f"{fmt.number(value)}\u00a0{fmt.currency_sign}",
        width=540,
    )
    return [(fmt.label("leads_by_cohort"), volume), (profit_figure, profit)]


def call_times_chart(times: CallTimes, fmt: Formatter) -> Markup:
    """Answer rates by weekday and hour as a heat map (the dashboard's calls page shows it too)."""
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


# --------------------------------------------------------------------------- layouts


def _wrapped(css: str, chart: Markup) -> Markup:
    return Markup('<div class="{}">{}</div>').format(css, chart)


def _figure(caption: str, chart: Markup, css: str = "") -> Markup:
    opening = Markup('<figure class="{}">').format(css) if css else Markup("<figure>")
    return opening + Markup("<figcaption>{}</figcaption>{}</figure>").format(caption, chart)


def _funnel_intro(report: WeeklyReport, fmt: Formatter) -> Markup:
    return _wrapped("narrow", _funnel_chart(report, fmt))


def _managers_intro(report: WeeklyReport, fmt: Formatter) -> Markup | None:
    chart = _manager_chart(report, fmt)
    return None if chart is None else _figure(fmt.label(_MANAGER_BARS), chart, "narrow")


def _trend_intro(report: WeeklyReport, fmt: Formatter) -> Markup:
    figures = Markup("").join(
        _figure(caption, chart) for caption, chart in _trend_charts(report, fmt)
    )
    return _wrapped("two", figures)


def _call_times_intro(report: WeeklyReport, fmt: Formatter) -> Markup:
    return _wrapped("narrow", call_times_chart(report.call_times, fmt))


_LAYOUTS: dict[str, Layout] = {
    "funnel": Layout(intro=_funnel_intro),
    "managers": Layout(css="long wide", intro=_managers_intro, currency_in_header=True),
    "cohorts": Layout(
        id="trend",
        css="long wide",
        heading=lambda fmt: f"{fmt.label('trend')} · {fmt.label('cohorts')}",
        intro=_trend_intro,
        currency_in_header=True,
    ),
    "call_times": Layout(intro=_call_times_intro, show_tables=False, note="call_times_note"),
    "losses": Layout(narrow=True),
}
"""Charts and layout of the built-in sections; a section not listed renders its tables."""
