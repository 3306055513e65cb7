"""The report's sections as flat tables: what the csv, xlsx and html renderers lay out.

A table holds raw values — ints, floats for ratios, money as ``Decimal`` rounded to cents, seconds,
dates — and says of each column what kind of number it is, so each format can show it its own way
(a number format in xlsx, a localised string in html, a plain number in csv).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo

import pandas as pd

from app.callbacks.schemas import CallbackFigures
from app.metrics.figures import STAGE_NAMES, FigureKind, figure
from app.metrics.schemas import FigureModel
from app.money import quantize_money
from app.quality.schemas import ScoreGroupPublic
from app.reports.i18n import Formatter, weekday_name
from app.reports.schemas import (
    MANAGER_CALL_FIGURES,
    MANAGER_LEAD_FIGURES,
    WEEK_MONEY_FIGURES,
    ManagerRow,
    MoneyChange,
    WeeklyReport,
)

Kind: TypeAlias = Literal["text", "int", "number", "money", "percent", "duration", "date"]
Value: TypeAlias = object  # str, int, float (ratios), Decimal (money), date or None

# How each kind of figure is shown in a table.
FIGURE_KINDS: dict[FigureKind, Kind] = {
    "count": "int",
    "ratio": "percent",
    "number": "number",
    "money": "money",
    "seconds": "duration",
}


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # the csv header: stable, whatever the language
    label: str  # the heading shown to people, in the report's language
    kind: Kind
    group: str | None = None  # a heading over several columns


@dataclass(frozen=True, slots=True)
class Table:
    key: str
    title: str
    columns: tuple[Column, ...]
    frame: pd.DataFrame  # one column per Column.key, in order
    totals: int = 0  # the last rows that are totals
    # Rows whose money columns hold another kind of figure (ROI among the money).
    row_kinds: Mapping[int, Kind] = field(default_factory=dict)
    note: str | None = None

    def kind(self, row: int, column: Column) -> Kind:
        if column.kind == "money":
            return self.row_kinds.get(row, "money")
        return column.kind

    def rows(self) -> list[list[Value]]:
        # The frame is of dtype object: None stays None (no NaN) and ints stay ints.
        return [list(record) for record in self.frame.itertuples(index=False, name=None)]


def make_table(
    key: str,
    title: str,
    columns: Sequence[Column],
    records: Sequence[Sequence[Value]],
    *,
    totals: int = 0,
    row_kinds: Mapping[int, Kind] | None = None,
    note: str | None = None,
) -> Table:
    """A table of ``records`` (one list of raw values per row, in ``columns`` order)."""
    frame = pd.DataFrame([list(r) for r in records], columns=[c.key for c in columns], dtype=object)
    return Table(key, title, tuple(columns), frame, totals, row_kinds or {}, note)


def _cents(value: Decimal | None) -> Decimal | None:
    return None if value is None else quantize_money(value)


def figure_column(
    key: str, fmt: Formatter, *, column: str | None = None, group: str | None = None
) -> Column:
    """A column showing the figure ``key``: its label and kind come from the figures table;
    ``column`` is the csv header when it is not the figure's key."""
    row = figure(key)
    return Column(column or key, row.label(fmt.lang), FIGURE_KINDS[row.kind], group)


def figure_cell(key: str, value: object) -> Value:
    """A figure's value as a table holds it: money rounded to cents, the rest as it is."""
    if figure(key).kind == "money" and isinstance(value, Decimal):
        return quantize_money(value)
    return value


def figure_cells(model: FigureModel, keys: Sequence[str]) -> list[Value]:
    values = model.figure_values()
    return [figure_cell(key, values[key]) for key in keys]


# --------------------------------------------------------------------------- sections


def funnel_table(report: WeeklyReport, fmt: Formatter) -> Table:
    label = fmt.label
    columns = [
        Column("step", label("step"), "text"),
        Column("count", label("this_week"), "int"),
        Column("conversion", label("conversion"), "percent"),
        Column("cumulative", label("cumulative"), "percent"),
        Column("previous", label("previous_week"), "int"),
        Column("previous_conversion", label("previous_conversion"), "percent"),
        Column("change", label("change"), "int"),
        Column("change_pct", label("change_pct"), "percent"),
    ]
    records = [
        [
            label(step.step),
            step.count,
            step.conversion,
            step.cumulative,
            step.previous,
            step.previous_conversion,
            step.change,
            step.change_pct,
        ]
        for step in report.funnel
    ]
    return make_table("funnel", label("funnel"), columns, records)


def money_table(report: WeeklyReport, fmt: Formatter) -> Table:
    """One row per figure of ``WEEK_MONEY_FIGURES``; a ratio (ROI) keeps its own kind."""
    label = fmt.label
    columns = [
        Column("figure", label("figure"), "text"),
        Column("value", label("this_week"), "money"),
        Column("previous", label("previous_week"), "money"),
        Column("change", label("change"), "money"),
        Column("change_pct", label("change_pct"), "percent"),
    ]
    records: list[list[Value]] = []
    row_kinds: dict[int, Kind] = {}
    for row in WEEK_MONEY_FIGURES:
        figure_change = report.money.change(row.key)
        if isinstance(figure_change, MoneyChange):
            records.append(
                [
                    row.label(fmt.lang),
                    _cents(figure_change.value),
                    _cents(figure_change.previous),
                    _cents(figure_change.change),
                    figure_change.change_pct,
                ]
            )
        else:
            row_kinds[len(records)] = FIGURE_KINDS[row.kind]
            records.append(
                [
                    row.label(fmt.lang),
                    figure_change.value,
                    figure_change.previous,
                    figure_change.change,
                    None,
                ]
            )
    return make_table("money", label("money"), columns, records, row_kinds=row_kinds)


# The csv headers of the manager table: stable names, prefixed by the side they describe.
MANAGER_LEAD_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    # "leads_dialed" is already prefixed.
    (row.key if row.key.startswith("leads_") else f"leads_{row.key}", row.key)
    for row in MANAGER_LEAD_FIGURES
)
MANAGER_CALL_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    ("calls_made" if row.key == "calls" else f"calls_{row.key}", row.key)
    for row in MANAGER_CALL_FIGURES
)


def manager_table(report: WeeklyReport, fmt: Formatter) -> Table:
    label = fmt.label
    leads, calls = label("their_leads"), label("their_calls")
    columns = [
        Column("manager", label("manager"), "text"),
        *(figure_column(key, fmt, column=name, group=leads) for name, key in MANAGER_LEAD_COLUMNS),
        *(figure_column(key, fmt, column=name, group=calls) for name, key in MANAGER_CALL_COLUMNS),
        *_manager_callback_columns(fmt),
        *_manager_quality_columns(fmt),
        Column("employee_id", "ID", "text"),  # last: for lookups, not for reading
    ]
    lead_keys = [key for _, key in MANAGER_LEAD_COLUMNS]
    call_keys = [key for _, key in MANAGER_CALL_COLUMNS]
    scored = _manager_scores(report)
    called_back = _manager_callbacks(report)

    def record(row: ManagerRow, name: str) -> list[Value]:
        return [
            name,
            *figure_cells(row.leads, lead_keys),
            *figure_cells(row.calls, call_keys),
            *called_back(row.employee_id, row is report.managers_total),
            *scored(row.employee_id, row is report.managers_total),
            row.employee_id,
        ]

    records = [record(row, row.name or label("no_employee")) for row in report.managers]
    records.append(record(report.managers_total, label("total")))
    return make_table(
        "managers", label("managers"), columns, records, totals=1, note=label("managers_note")
    )


# The cohorts' profit as both formats chart it: realised, and its forecast.
TREND_PROFIT: tuple[str, str] = ("profit_per_call", "expected_profit_per_call")

# The cohort table's figure columns, in reading order: each realised profit next to its forecast.
COHORT_COLUMNS: tuple[str, ...] = (
    "leads_dialed",
    "dials",
    *STAGE_NAMES,
    "open_applications",
    "cost",
    "profit_per_call",
    "expected_profit_per_call",
    "profit_per_application",
    "expected_profit_per_application",
)


def cohort_table(report: WeeklyReport, fmt: Formatter) -> Table:
    label = fmt.label
    columns = [
        Column("week", label("cohort_week"), "text"),
        Column("first_day", label("first_day"), "date"),
        Column("age_days", label("age_days"), "int"),
        Column("young", label("young"), "text"),
        *(figure_column(key, fmt) for key in COHORT_COLUMNS),
        Column("forecast_source", label("forecast_source"), "text"),
    ]
    records = [
        [
            cohort.week,
            cohort.first_day,
            cohort.age_days,
            label("yes" if cohort.young else "no"),
            *figure_cells(cohort, COHORT_COLUMNS),
            label(cohort.forecast_source),
        ]
        for cohort in report.cohorts
    ]
    return make_table("cohorts", label("cohorts"), columns, records, note=label("cohorts_note"))


def call_time_tables(report: WeeklyReport, fmt: Formatter) -> tuple[Table, Table]:
    """Answer rate, and the number of calls, by weekday (rows) and local hour (columns)."""
    label = fmt.label
    times = report.call_times

    def grid(key: str, kind: Kind, answer_rate: bool) -> Table:
        columns = [
            Column("weekday", label("weekday"), "text"),
            *(Column(f"{hour:02d}", f"{hour:02d}", kind, label("hour")) for hour in times.hours),
        ]
        records = [
            [
                weekday_name(row.weekday, fmt.lang),
                *(cell.answer_rate if answer_rate else cell.calls for cell in row.cells),
            ]
            for row in times.weekdays
        ]
        return make_table(key, label(key), columns, records)

    return (
        grid("answer_rate", "percent", answer_rate=True),
        grid("calls", "int", answer_rate=False),
    )


def loss_table(report: WeeklyReport, fmt: Formatter) -> Table:
    label = fmt.label
    columns = [
        Column("kind", label("kind"), "text"),
        Column("reason", label("reason"), "text"),
        Column("count", label("count"), "int"),
    ]
    records = [
        [label(loss.kind), loss.reason or label("no_reason"), loss.count] for loss in report.losses
    ]
    return make_table("losses", label("losses"), columns, records)


# --------------------------------------------------------------------------- callbacks


# (key: its label is cb_<key>; kind; how to read it off CallbackFigures), in reading order.
_CALLBACK_ROWS: tuple[tuple[str, Kind, Callable[[CallbackFigures], int | float | None]], ...] = (
    ("missed_calls", "int", lambda f: f.missed_calls),
    ("short_abandoned", "int", lambda f: f.short_abandoned),
    ("cases", "int", lambda f: f.cases),
    ("out_of_hours", "int", lambda f: f.out_of_hours),
    ("called_back", "int", lambda f: f.called_back),
    ("contacted", "int", lambda f: f.contacted),
    ("contacted_by_callback", "int", lambda f: f.contacted_by_callback),
    ("contacted_by_client", "int", lambda f: f.contacted_by_client),
    ("lost", "int", lambda f: f.lost),
    ("hot_lost", "int", lambda f: f.hot_lost),
    ("pending", "int", lambda f: f.pending),
    ("sla_met", "int", lambda f: f.sla_met),
    ("sla_breached", "int", lambda f: f.sla_breached),
    ("within_sla_rate", "percent", lambda f: f.within_sla_rate),
    (
        "first_attempt_median",
        "duration",
        lambda f: _seconds(f.time_to_first_attempt_seconds.median),
    ),
    ("first_attempt_p90", "duration", lambda f: _seconds(f.time_to_first_attempt_seconds.p90)),
    ("contact_median", "duration", lambda f: _seconds(f.time_to_contact_seconds.median)),
    ("contact_p90", "duration", lambda f: _seconds(f.time_to_contact_seconds.p90)),
    ("applications_after_contact", "int", lambda f: f.applications_after_contact),
)
# The per-manager columns (in the callbacks section and, so the csv carries them, the managers
# table), by key of _CALLBACK_ROWS.
_CALLBACK_MANAGER_KEYS = (
    "cases",
    "missed_calls",
    "called_back",
    "contacted",
    "lost",
    "hot_lost",
    "pending",
    "within_sla_rate",
    "first_attempt_median",
)
_CALLBACK_MANAGER_ROWS = tuple(row for row in _CALLBACK_ROWS if row[0] in _CALLBACK_MANAGER_KEYS)


def _seconds(value: float | None) -> int | None:
    # Durations are shown to the second.
    return None if value is None else round(value)


def _callback_cells(figures: CallbackFigures | None) -> list[Value]:
    if figures is None:
        return [None] * len(_CALLBACK_MANAGER_ROWS)
    return [read(figures) for _, _, read in _CALLBACK_MANAGER_ROWS]


def _manager_callback_columns(fmt: Formatter) -> list[Column]:
    group = fmt.label("callbacks")
    return [
        Column(f"callbacks_{key}", fmt.label(f"cb_{key}"), kind, group)
        for key, kind, _ in _CALLBACK_MANAGER_ROWS
    ]


def _manager_callbacks(report: WeeklyReport) -> Callable[[str | None, bool], list[Value]]:
    section = report.callbacks
    by_employee = {} if section is None else {m.employee_id: m for m in section.managers}

    def cells(employee_id: str | None, total: bool) -> list[Value]:
        if section is None:
            return _callback_cells(None)
        return _callback_cells(section.this_week if total else by_employee.get(employee_id))

    return cells


def callback_tables(report: WeeklyReport, fmt: Formatter) -> list[Table]:
    """The week's figures against the week before, per manager, and the hot leads lost by name
    (docs/callbacks.md)."""
    label = fmt.label
    section = report.callbacks
    if section is None or section.this_week.cases + section.previous_week.cases == 0:
        week_rows: list[list[Value]] = []
        kinds: dict[int, Kind] = {}
    else:
        week_rows, kinds = [], {}
        for index, (key, kind, read) in enumerate(_CALLBACK_ROWS):
            this, before = read(section.this_week), read(section.previous_week)
            # No change of a duration: a negative one has no clock format.
            change = None if this is None or before is None or kind == "duration" else this - before
            week_rows.append([label(f"cb_{key}"), this, before, change])
            kinds[index] = kind
    week = make_table(
        "callbacks_week",
        label("callbacks_week"),
        [
            Column("figure", label("figure"), "text"),
            # "money" columns take each row's own kind (row_kinds).
            Column("this_week", label("this_week"), "money"),
            Column("previous_week", label("previous_week"), "money"),
            Column("change", label("change"), "money"),
        ],
        week_rows,
        row_kinds=kinds,
        note=label("callbacks_note"),
    )
    managers: list[list[Value]] = []
    if section is not None and section.this_week.cases:
        managers = [
            [m.name or label("no_employee"), *_callback_cells(m), m.employee_id]
            for m in section.managers
        ]
        managers.append([label("total"), *_callback_cells(section.this_week), None])
    by_manager = make_table(
        "callbacks_managers",
        label("callbacks_managers"),
        [
            Column("manager", label("manager"), "text"),
            *(Column(key, label(f"cb_{key}"), kind) for key, kind, _ in _CALLBACK_MANAGER_ROWS),
            Column("employee_id", "ID", "text"),
        ],
        managers,
        totals=1 if managers else 0,
    )
    zone = ZoneInfo(report.period.timezone)

    def local(moment: datetime | None) -> str:
        if moment is None:
            return label("cb_never")
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    hot = make_table(
        "callbacks_hot_lost",
        label("callbacks_hot_lost"),
        [
            Column("company", label("cb_company"), "text"),
            Column("phone", label("cb_phone"), "text"),
            Column("opened_at", label("cb_opened_at"), "text"),
            Column("missed_calls", label("cb_missed_calls"), "int"),
            Column("first_attempt_at", label("cb_first_attempt_at"), "text"),
            Column("owner", label("cb_owner"), "text"),
            Column("lead_id", "ID", "text"),
        ],
        [
            [
                lead.company,
                lead.phone,
                local(lead.opened_at),
                lead.missed_calls,
                local(lead.first_attempt_at),
                lead.owner_name or label("no_employee"),
                lead.lead_id,
            ]
            for lead in ([] if section is None else section.hot_lost)
        ],
    )
    return [week, by_manager, hot]


# --------------------------------------------------------------------------- the sections


TableSpec: TypeAlias = Callable[[WeeklyReport, Formatter], Sequence[Table]]
"""How a section lays its part of the report out: the tables, built from ``WeeklyReport``."""


@dataclass(frozen=True, slots=True)
class Section:
    """One part of the weekly report: its data is a field of ``WeeklyReport`` (the json), and
    ``tables`` lays it out as flat tables that every file format renders (one xlsx sheet, one
    html ``<section>``). Charts and layout are optional per format, keyed by ``key``
    (``render_html._LAYOUTS``, ``render_xlsx._EXTRAS``); a section without them renders its
    tables plainly."""

    key: str  # the label of its title (i18n), the xlsx sheet, the html anchor
    tables: TableSpec
    empty: str | None = None  # label said in html instead of tables that have no rows


def single(build: Callable[[WeeklyReport, Formatter], Table]) -> TableSpec:
    """The table spec of a section made of one table."""
    return lambda report, fmt: (build(report, fmt),)


# --------------------------------------------------------------------------- script quality

SCORE_BANDS: tuple[str, ...] = ("excellent", "good", "needs_work", "poor")


def _manager_quality_columns(fmt: Formatter) -> list[Column]:
    """The manager table's script-quality columns (so the csv carries them too)."""
    group = fmt.label("script_quality")
    return [
        Column("script_score", fmt.label("quality_score"), "number", group),
        Column("scored_calls", fmt.label("quality_scored_calls"), "int", group),
    ]


def _manager_scores(report: WeeklyReport) -> Callable[[str | None, bool], list[Value]]:
    section = report.script_quality
    by_employee = {} if section is None else {g.key: g for g in section.managers}

    def cells(employee_id: str | None, total: bool) -> list[Value]:
        if section is None:
            return [None, None]
        group = section.total if total else by_employee.get(employee_id)
        return [None, 0] if group is None else [group.score, group.calls]

    return cells


def _score_table(
    key: str, first: Column, rows: Sequence[tuple[str, ScoreGroupPublic]], fmt: Formatter
) -> Table:
    label = fmt.label
    bands = label("quality_calls_by_band")
    columns = [
        first,
        Column("scored_calls", label("quality_scored_calls"), "int"),
        Column("evaluations", label("quality_evaluations"), "int"),
        Column("score", label("quality_score"), "number"),
        *(Column(f"band_{band}", label(f"quality_{band}"), "int", bands) for band in SCORE_BANDS),
        Column("critical_failed", label("quality_critical_failed"), "int"),
    ]
    records = [
        [
            name,
            group.calls,
            group.evaluations,
            group.score,
            *(group.bands.get(band, 0) for band in SCORE_BANDS),
            group.critical_failed,
        ]
        for name, group in rows
    ]
    return make_table(key, label(key), columns, records, totals=1 if rows else 0)


def script_quality_tables(report: WeeklyReport, fmt: Formatter) -> list[Table]:
    """Scores per manager and per script, the criteria with what passing them predicts, and the
    stage-3 and stage-4 rates per band (docs/script_quality.md → Outcomes)."""
    label = fmt.label
    section = report.script_quality
    if section is None or section.total.calls == 0:
        managers: list[tuple[str, ScoreGroupPublic]] = []
        scripts: list[tuple[str, ScoreGroupPublic]] = []
    else:
        total = (label("total"), section.total)
        managers = [(g.label or label("no_employee"), g) for g in section.managers] + [total]
        scripts = [(g.label or label("quality_no_script"), g) for g in section.scripts] + [total]
    tables = [
        _score_table(
            "quality_managers", Column("manager", label("manager"), "text"), managers, fmt
        ),
        _score_table(
            "quality_scripts", Column("script", label("quality_script"), "text"), scripts, fmt
        ),
    ]
    if section is None or section.total.calls == 0:
        return [*tables, *_empty_quality_tables(fmt)]
    outcomes = {criterion.key: criterion for criterion in section.outcomes.criteria}
    passed, failed = label("quality_passed"), label("quality_failed")
    criteria_columns = [
        Column("criterion", label("quality_criterion"), "text"),
        Column("key", label("quality_key"), "text"),
        Column("weight", label("quality_weight"), "int"),
        Column("critical", label("quality_critical"), "text"),
        Column("yes", label("yes"), "int"),
        Column("no", label("no"), "int"),
        Column("na", label("quality_na"), "int"),
        Column("pass_rate", label("quality_pass_rate"), "percent"),
        Column("passed_calls", label("quality_calls_with_lead"), "int", passed),
        Column("passed_stage4_rate", label("quality_stage4_rate"), "percent", passed),
        Column("failed_calls", label("quality_calls_with_lead"), "int", failed),
        Column("failed_stage4_rate", label("quality_stage4_rate"), "percent", failed),
        Column("difference", label("quality_difference"), "percent"),
    ]
    criteria_records = []
    for criterion in section.criteria:
        outcome = outcomes.get(criterion.key)
        criteria_records.append(
            [
                criterion.label_ru if fmt.lang == "ru" and criterion.label_ru else criterion.label,
                criterion.key,
                criterion.weight,
                label("yes" if criterion.critical else "no"),
                criterion.yes,
                criterion.no,
                criterion.na,
                criterion.pass_rate,
                outcome.passed.calls if outcome else None,
                outcome.passed.stage4_rate if outcome else None,
                outcome.failed.calls if outcome else None,
                outcome.failed.stage4_rate if outcome else None,
                outcome.difference if outcome else None,
            ]
        )
    band_records = [
        [
            label(f"quality_{band.band}"),
            band.calls,
            band.stage3,
            band.stage3_rate,
            band.stage4,
            band.stage4_rate,
            band.stage4_ci95[0] if band.stage4_ci95 else None,
            band.stage4_ci95[1] if band.stage4_ci95 else None,
        ]
        for band in section.outcomes.bands
    ]
    return [
        *tables,
        make_table(
            "quality_criteria",
            label("quality_criteria"),
            criteria_columns,
            criteria_records,
            note=label("quality_criteria_note"),
        ),
        make_table("quality_bands", label("quality_bands"), _band_columns(fmt), band_records),
    ]


def _band_columns(fmt: Formatter) -> list[Column]:
    label = fmt.label
    interval = label("quality_stage4_ci95")
    return [
        Column("band", label("quality_band"), "text"),
        Column("calls", label("quality_calls_with_lead"), "int"),
        Column("stage3", label("quality_stage3"), "int"),
        Column("stage3_rate", label("quality_stage3_rate"), "percent"),
        Column("stage4", label("quality_stage4"), "int"),
        Column("stage4_rate", label("quality_stage4_rate"), "percent"),
        Column("stage4_ci95_low", label("quality_low"), "percent", interval),
        Column("stage4_ci95_high", label("quality_high"), "percent", interval),
    ]


def _empty_quality_tables(fmt: Formatter) -> list[Table]:
    label = fmt.label
    criteria = [Column("criterion", label("quality_criterion"), "text")]
    return [
        make_table("quality_criteria", label("quality_criteria"), criteria, []),
        make_table("quality_bands", label("quality_bands"), _band_columns(fmt), []),
    ]


SECTIONS: tuple[Section, ...] = (
    Section("funnel", single(funnel_table)),
    Section("money", single(money_table)),
    Section("managers", single(manager_table)),
    Section("cohorts", single(cohort_table)),
    Section("call_times", call_time_tables),
    Section("losses", single(loss_table), empty="no_losses"),
    Section("callbacks", callback_tables, empty="no_callbacks"),
    Section("script_quality", script_quality_tables, empty="quality_none"),
)
"""The report's sections in reading order: the xlsx sheets and the html sections follow it."""
