"""The weekly report shaped from the funnel's and the call statistics' own results.

Pure: no database, no clock. Every figure is one the metrics computed; this module only puts them
side by side (this week against the last, managers' leads against their calls, weekdays against
hours) and takes differences. pandas does the joining, sorting and pivoting over those results —
one row per manager or per hour, never one per call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from app.metrics.figures import STAGES, Figure
from app.metrics.funnel import FunnelResult, GroupFigures
from app.metrics.schemas import CallStats, CallStatsResponse, FunnelFigures, Period
from app.reports.schemas import (
    COHORT_FIGURES,
    MANAGER_CALL_FIGURES,
    MANAGER_LEAD_FIGURES,
    WEEK_MONEY_FIGURES,
    CallTimes,
    Cohort,
    FunnelStep,
    HourCell,
    LossKind,
    LossReason,
    ManagerCalls,
    ManagerLeads,
    ManagerRow,
    MoneyChange,
    RatioChange,
    ReportPeriod,
    WeekdayRow,
    WeeklyReport,
    WeekMoney,
)
from app.reports.weeks import IsoWeek

COHORT_WEEKS = 8
YOUNG_COHORT = timedelta(days=28)
# The heat map always shows at least a working day, so weeks look alike and an empty week too.
WORKDAY_HOURS = range(8, 19)
WEEKDAYS = range(1, 8)
MANAGERS_SORTED_BY = "profit_per_call"  # best first
_NO_EMPLOYEE = ""  # employee ids are never empty: stands for "none" where pandas needs a key


@dataclass(frozen=True, slots=True)
class WeeklyInputs:
    week: IsoWeek
    zone: ZoneInfo
    currency: str
    period: Period  # of this week's activity funnel
    this_week: FunnelResult  # activity mode, grouped by employee
    previous_week: FunnelFigures  # activity mode
    cohorts: FunnelResult  # cohort mode over the last COHORT_WEEKS weeks, grouped by week
    calls_by_employee: CallStatsResponse
    calls_by_weekday_hour: CallStatsResponse
    refusals: Sequence[tuple[str | None, int]]  # (refusal reason, leads)
    lost_applications: Sequence[tuple[str | None, int]]  # (lost reason, applications)


def weekly_report(inputs: WeeklyInputs) -> WeeklyReport:
    period = inputs.period
    current, previous = inputs.this_week.total, inputs.previous_week
    return WeeklyReport(
        period=ReportPeriod(
            week=inputs.week.key,
            first_day=inputs.week.monday,
            last_day=inputs.week.sunday,
            from_=period.from_,
            to=period.to,
            timezone=period.timezone,
            as_of=period.as_of,
        ),
        previous_week=inputs.week.shifted(-1).key,
        currency=inputs.currency,
        funnel=_funnel(current, previous),
        money=_money(current, previous),
        managers=_managers(inputs.this_week.groups or (), inputs.calls_by_employee.groups or []),
        managers_total=ManagerRow(
            employee_id=None,
            name=None,
            leads=_manager_leads(current),
            calls=_manager_calls(inputs.calls_by_employee.total),
        ),
        cohorts=_cohorts(inputs.cohorts.groups or (), inputs.zone, period.as_of),
        call_times=call_times(inputs.calls_by_weekday_hour.groups or []),
        losses=_losses(inputs.refusals, inputs.lost_applications),
    )


# --------------------------------------------------------------------------- funnel and money


def _change_pct(change: int | Decimal, previous: int | Decimal) -> float | None:
    # Against |previous| so that the sign says up or down even when last week was a loss.
    return None if previous == 0 else float(Decimal(change) / abs(Decimal(previous)))


def _funnel(current: FunnelFigures, previous: FunnelFigures) -> list[FunnelStep]:
    def step(
        name: str,
        count: int,
        before: int,
        conversion: float | None = None,
        previous_conversion: float | None = None,
        cumulative: float | None = None,
    ) -> FunnelStep:
        return FunnelStep(
            step=name,
            count=count,
            previous=before,
            change=count - before,
            change_pct=_change_pct(count - before, before),
            conversion=conversion,
            previous_conversion=previous_conversion,
            cumulative=cumulative,
        )

    steps = [
        step("dials", current.dials, previous.dials),
        step("leads_dialed", current.leads_dialed, previous.leads_dialed),
    ]
    for stage, now, before in zip(STAGES, current.stages, previous.stages, strict=True):
        steps.append(
            step(
                stage.key,
                now.count,
                before.count,
                now.conversion,
                before.conversion,
                now.cumulative,
            )
        )
    return steps


def _money_change(value: Decimal | None, previous: Decimal | None) -> MoneyChange:
    if value is None or previous is None:
        return MoneyChange(value=value, previous=previous, change=None, change_pct=None)
    change = value - previous
    return MoneyChange(
        value=value, previous=previous, change=change, change_pct=_change_pct(change, previous)
    )


def _ratio_change(value: float | None, previous: float | None) -> RatioChange:
    change = None if value is None or previous is None else value - previous
    return RatioChange(value=value, previous=previous, change=change)


def figure_change(
    row: Figure[Any], current: FunnelFigures, previous: FunnelFigures
) -> MoneyChange | RatioChange:
    """This week's figure against last week's: money as money, a ratio in its own unit (the
    dashboard's money tiles compare any two periods with it)."""
    now, before = current.figure(row.key), previous.figure(row.key)
    if row.kind == "money":
        return _money_change(_decimal(now), _decimal(before))
    if row.kind == "ratio":
        return _ratio_change(_float(now), _float(before))
    raise ValueError(f"the week's money has no {row.kind} figure ({row.key})")


def _float(value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float | Decimal):
        raise TypeError(f"not a number: {value!r}")
    return float(value)


def _decimal(value: object) -> Decimal | None:
    if value is not None and not isinstance(value, Decimal):
        raise TypeError(f"money is Decimal, not {value!r}")
    return value


def _money(current: FunnelFigures, previous: FunnelFigures) -> WeekMoney:
    return WeekMoney.model_validate(
        {row.key: figure_change(row, current, previous) for row in WEEK_MONEY_FIGURES}
    )


# --------------------------------------------------------------------------- managers


def _manager_leads(figures: FunnelFigures) -> ManagerLeads:
    return ManagerLeads.model_validate(
        {row.key: figures.figure(row.key) for row in MANAGER_LEAD_FIGURES}
    )


def _manager_calls(stats: CallStats) -> ManagerCalls:
    values = stats.figure_values()
    return ManagerCalls.model_validate({row.key: values[row.key] for row in MANAGER_CALL_FIGURES})


def _nothing(row: Figure[Any]) -> object:
    """A figure of no leads or no calls: zero counts and amounts, undefined ratios."""
    if row.kind in ("count", "seconds"):
        return 0
    if row.key == "cost":
        return Decimal(0)
    return None


# Someone with calls but no leads of their own this week (or the reverse).
_NO_LEADS = ManagerLeads.model_validate({row.key: _nothing(row) for row in MANAGER_LEAD_FIGURES})
_NO_CALLS = ManagerCalls.model_validate({row.key: _nothing(row) for row in MANAGER_CALL_FIGURES})


def _managers(groups: Sequence[GroupFigures], calls: Sequence[CallStats]) -> list[ManagerRow]:
    """Leads' funnel groups joined to call groups by employee: someone may have one and not the
    other (calls only to colleagues' leads, or leads someone else dialled this week)."""
    leads = pd.DataFrame(
        [
            {
                "key": group.key or _NO_EMPLOYEE,
                "leads_label": group.label,
                "leads": _manager_leads(group.figures),
                "profit": _sortable(group.figures.figure(MANAGERS_SORTED_BY)),
            }
            for group in groups
        ],
        columns=["key", "leads_label", "leads", "profit"],
    )
    made = pd.DataFrame(
        [
            {"key": stats.key or _NO_EMPLOYEE, "calls_label": stats.label, "calls": stats}
            for stats in calls
        ],
        columns=["key", "calls_label", "calls"],
    )
    table = leads.merge(made, on="key", how="outer")
    table["name"] = table["leads_label"].combine_first(table["calls_label"])
    table = table.sort_values(
        ["profit", "name", "key"], ascending=[False, True, True], na_position="last"
    )
    return [_joined_row(row) for row in table.to_dict("records")]


def _sortable(value: object) -> float:
    number = _float(value)
    return float("nan") if number is None else number


def _joined_row(row: dict[Any, Any]) -> ManagerRow:
    # After the outer join a missing side is NaN, not None: hence the isinstance tests.
    leads, calls, name = row["leads"], row["calls"], row["name"]
    return ManagerRow(
        employee_id=row["key"] or None,
        name=name if isinstance(name, str) else None,
        leads=leads if isinstance(leads, ManagerLeads) else _NO_LEADS,
        calls=_manager_calls(calls) if isinstance(calls, CallStats) else _NO_CALLS,
    )


# --------------------------------------------------------------------------- cohorts


def _cohorts(groups: Sequence[GroupFigures], zone: ZoneInfo, as_of: datetime) -> list[Cohort]:
    cohorts = []
    for group in groups:
        assert group.key is not None  # week groups always have one
        week = IsoWeek.parse(group.key)
        week_end = datetime.combine(week.next_monday, time(), tzinfo=zone).astimezone(UTC)
        age = as_of - week_end
        figures = group.figures
        forecast = figures.economics.forecast
        assert forecast is not None  # cohort mode always forecasts
        cohorts.append(
            Cohort.model_validate(
                {
                    "week": week.key,
                    "first_day": week.monday,
                    "age_days": max(0, age // timedelta(days=1)),
                    "young": age < YOUNG_COHORT or forecast.open_applications > 0,
                    **{row.key: figures.figure(row.key) for row in COHORT_FIGURES},
                    "forecast_source": forecast.source,
                }
            )
        )
    return cohorts


# --------------------------------------------------------------------------- call times


def call_times(groups: Sequence[CallStats]) -> CallTimes:
    """Call statistics by ``weekday_hour`` ("1-09") pivoted into weekday rows of hour cells."""
    cells = pd.DataFrame(
        [
            {
                "weekday": int(weekday),
                "hour": int(hour),
                "calls": stats.calls,
                "answered": stats.answered,
                "answer_rate": stats.answer_rate,
            }
            for stats in groups
            if stats.key is not None
            for weekday, hour in [stats.key.split("-")]
        ],
        columns=["weekday", "hour", "calls", "answered", "answer_rate"],
    )
    busy = [int(hour) for hour in cells["hour"]]
    hours = list(range(min([WORKDAY_HOURS.start, *busy]), max([WORKDAY_HOURS.stop - 1, *busy]) + 1))
    grid = cells.set_index(["weekday", "hour"]).reindex(
        pd.MultiIndex.from_product([WEEKDAYS, hours], names=["weekday", "hour"])
    )
    grid[["calls", "answered"]] = grid[["calls", "answered"]].fillna(0).astype(int)
    rows: dict[int, list[HourCell]] = {weekday: [] for weekday in WEEKDAYS}
    for (weekday, hour), calls, answered, rate in zip(
        grid.index, grid["calls"], grid["answered"], grid["answer_rate"], strict=True
    ):
        rows[int(weekday)].append(
            HourCell(
                hour=int(hour),
                calls=int(calls),
                answered=int(answered),
                answer_rate=None if pd.isna(rate) else float(rate),
            )
        )
    return CallTimes(
        hours=hours,
        weekdays=[WeekdayRow(weekday=weekday, cells=cells) for weekday, cells in rows.items()],
    )


# --------------------------------------------------------------------------- losses


def _losses(
    refusals: Sequence[tuple[str | None, int]], lost: Sequence[tuple[str | None, int]]
) -> list[LossReason]:
    def ranked(kind: LossKind, counts: Sequence[tuple[str | None, int]]) -> list[LossReason]:
        # Most frequent first; "no reason recorded" after the reasons with the same count.
        ordered = sorted(counts, key=lambda item: (-item[1], item[0] is None, item[0] or ""))
        return [LossReason(kind=kind, reason=reason, count=count) for reason, count in ordered]

    return [*ranked("refusal", refusals), *ranked("lost_application", lost)]
