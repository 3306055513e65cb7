"""The report's sections as flat tables: what the csv, xlsx and html renderers lay out.

A table holds raw values — ints, floats for ratios, money as ``Decimal`` rounded to cents, seconds,
dates — and says of each column what kind of number it is, so each format can show it its own way
(a number format in xlsx, a localised string in html, a plain number in csv).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, TypeAlias

import pandas as pd

from app.money import quantize_money
from app.reports.i18n import Formatter, weekday_name
from app.reports.schemas import (
    MONEY_NAMES,
    ManagerRow,
    MoneyChange,
    WeeklyReport,
)

Kind: TypeAlias = Literal["text", "int", "money", "percent", "duration", "date"]
Value: TypeAlias = object  # str, int, float (ratios), Decimal (money), date or None


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


def _table(
    key: str,
    title: str,
    columns: Sequence[Column],
    records: Sequence[Sequence[Value]],
    *,
    totals: int = 0,
    row_kinds: Mapping[int, Kind] | None = None,
    note: str | None = None,
) -> Table:
    frame = pd.DataFrame([list(r) for r in records], columns=[c.key for c in columns], dtype=object)
    return Table(key, title, tuple(columns), frame, totals, row_kinds or {}, note)


def _cents(value: Decimal | None) -> Decimal | None:
    return None if value is None else quantize_money(value)


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
    return _table("funnel", label("funnel"), columns, records)


def money_table(report: WeeklyReport, fmt: Formatter) -> Table:
    label = fmt.label
    columns = [
        Column("figure", label("figure"), "text"),
        Column("value", label("this_week"), "money"),
        Column("previous", label("previous_week"), "money"),
        Column("change", label("change"), "money"),
        Column("change_pct", label("change_pct"), "percent"),
    ]

    def money_row(name: str, figure: MoneyChange) -> list[Value]:
        return [
            label(name),
            _cents(figure.value),
            _cents(figure.previous),
            _cents(figure.change),
            figure.change_pct,
        ]

    roi = report.money.roi
    records = [money_row(name, report.money.money(name)) for name in MONEY_NAMES]
    records.append([label("roi"), roi.value, roi.previous, roi.change, None])
    return _table(
        "money", label("money"), columns, records, row_kinds={len(records) - 1: "percent"}
    )


MANAGER_LEAD_COLUMNS: tuple[tuple[str, str, Kind], ...] = (
    ("leads_dials", "dials", "int"),
    ("leads_dialed", "leads_dialed", "int"),
    ("leads_reached", "reached", "int"),
    ("leads_conversation", "conversation", "int"),
    ("leads_second_call", "second_call", "int"),
    ("leads_application", "application", "int"),
    ("leads_contract", "contract", "int"),
    ("leads_cost", "cost", "money"),
    ("leads_profit_per_call", "profit_per_call", "money"),
)
MANAGER_CALL_COLUMNS: tuple[tuple[str, str, Kind], ...] = (
    ("calls_made", "calls", "int"),
    ("calls_answered", "answered", "int"),
    ("calls_answer_rate", "answer_rate", "percent"),
    ("calls_talk_seconds", "talk_time", "duration"),
)


def manager_table(report: WeeklyReport, fmt: Formatter) -> Table:
    label = fmt.label
    leads, calls = label("their_leads"), label("their_calls")
    columns = [
        Column("manager", label("manager"), "text"),
        *(Column(key, label(name), kind, leads) for key, name, kind in MANAGER_LEAD_COLUMNS),
        *(Column(key, label(name), kind, calls) for key, name, kind in MANAGER_CALL_COLUMNS),
        Column("employee_id", "ID", "text"),  # last: for lookups, not for reading
    ]

    def record(row: ManagerRow, name: str) -> list[Value]:
        funnel, made = row.leads, row.calls
        return [
            name,
            funnel.dials,
            funnel.leads_dialed,
            funnel.reached,
            funnel.conversation,
            funnel.second_call,
            funnel.application,
            funnel.contract,
            _cents(funnel.cost),
            _cents(funnel.profit_per_call),
            made.calls,
            made.answered,
            made.answer_rate,
            made.talk_seconds,
            row.employee_id,
        ]

    records = [record(row, row.name or label("no_employee")) for row in report.managers]
    records.append(record(report.managers_total, label("total")))
    return _table(
        "managers", label("managers"), columns, records, totals=1, note=label("managers_note")
    )


def cohort_table(report: WeeklyReport, fmt: Formatter) -> Table:
    label = fmt.label
    columns = [
        Column("week", label("cohort_week"), "text"),
        Column("first_day", label("first_day"), "date"),
        Column("age_days", label("age_days"), "int"),
        Column("young", label("young"), "text"),
        Column("leads_dialed", label("leads_dialed"), "int"),
        Column("dials", label("dials"), "int"),
        *(
            Column(name, label(name), "int")
            for name in ("reached", "conversation", "second_call", "application", "contract")
        ),
        Column("open_applications", label("open_applications"), "int"),
        Column("cost", label("cost"), "money"),
        Column("profit_per_call", label("profit_per_call"), "money"),
        Column("expected_profit_per_call", label("expected_profit_per_call"), "money"),
        Column("profit_per_application", label("profit_per_application"), "money"),
        Column(
            "expected_profit_per_application", label("expected_profit_per_application"), "money"
        ),
        Column("forecast_source", label("forecast_source"), "text"),
    ]
    records = [
        [
            cohort.week,
            cohort.first_day,
            cohort.age_days,
            label("yes" if cohort.young else "no"),
            cohort.leads_dialed,
            cohort.dials,
            cohort.reached,
            cohort.conversation,
            cohort.second_call,
            cohort.application,
            cohort.contract,
            cohort.open_applications,
            _cents(cohort.cost),
            _cents(cohort.profit_per_call),
            _cents(cohort.expected_profit_per_call),
            _cents(cohort.profit_per_application),
            _cents(cohort.expected_profit_per_application),
            label(cohort.forecast_source),
        ]
        for cohort in report.cohorts
    ]
    return _table("cohorts", label("cohorts"), columns, records, note=label("cohorts_note"))


def call_time_tables(report: WeeklyReport, fmt: Formatter) -> tuple[Table, Table]:
    """Answer rate, and the number of calls, by weekday (rows) and local hour (columns)."""
    label = fmt.label
    times = report.call_times

    def grid(key: str, title: str, kind: Kind, answer_rate: bool) -> Table:
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
        return _table(key, title, columns, records)

    return (
        grid("answer_rate", label("answer_rate"), "percent", answer_rate=True),
        grid("calls", label("calls"), "int", answer_rate=False),
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
    return _table("losses", label("losses"), columns, records)
