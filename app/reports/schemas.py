"""The weekly report: this model is the json format, and every other format renders it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from app.callbacks.schemas import CallbacksSection
from app.metrics.figures import CALL_FIGURES, STAGE_NAMES, figure
from app.metrics.schemas import FigureModel, enum_schema, member_of
from app.money import MoneyFigure
from app.quality.schemas import ScriptQualitySection

# Which figures each part of the report carries, by key of app/metrics/figures.py (labels, kinds
# and descriptions come from there). The models below declare the same fields, typed; a
# FigureModel refuses to load when the two lists disagree.
STEP_NAMES: tuple[str, ...] = ("dials", "leads_dialed", *STAGE_NAMES)
WEEK_MONEY_FIGURES = tuple(
    figure(key)
    for key in (
        "cost",
        "cost_per_dial",
        "margin",
        "profit_per_call",
        "profit_per_application",
        "roi",
    )
)
MANAGER_LEAD_FIGURES = tuple(figure(key) for key in (*STEP_NAMES, "cost", "profit_per_call"))
# The call statistics' own rows (talk_seconds is also a funnel figure, described otherwise).
MANAGER_CALL_FIGURES = tuple(
    row for key in ("calls", "answered", "answer_rate", "talk_seconds")
    for row in CALL_FIGURES if row.key == key
)  # fmt: skip
COHORT_FIGURES = tuple(
    figure(key)
    for key in (
        "leads_dialed",
        "dials",
        *STAGE_NAMES,
        "open_applications",
        "cost",
        "profit_per_call",
        "profit_per_application",
        "expected_profit_per_call",
        "expected_profit_per_application",
    )
)

StepName = Annotated[str, member_of(STEP_NAMES, "funnel step"), enum_schema(STEP_NAMES)]
LossKind: TypeAlias = Literal["refusal", "lost_application"]


class ReportPeriod(BaseModel):
    # "from" in json, both ways, so that a saved report reads back (the renderers' tests do).
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)

    week: str = Field(description="The ISO week, local to the reporting time zone: 2026-W47.")
    first_day: date = Field(description="Its Monday.")
    last_day: date = Field(description="Its Sunday.")
    from_: datetime = Field(alias="from", description="Local Monday 00:00, in UTC.")
    to: datetime = Field(description="The next local Monday 00:00, in UTC (exclusive).")
    timezone: str
    as_of: datetime = Field(description="Evidence, applications and contracts counted up to it.")


class FunnelStep(BaseModel):
    """One step of the week's activity funnel and last week's (docs/metrics.md → Activity mode)."""

    step: StepName
    count: int = Field(description="Dials; leads dialled; leads that reached the stage this week.")
    previous: int = Field(description="The same count the week before.")
    change: int = Field(description="count − previous.")
    change_pct: float | None = Field(description="change / previous; null when previous is 0.")
    conversion: float | None = Field(
        description="The funnel's conversion from the step before (reached: of leads dialled)."
    )
    previous_conversion: float | None
    cumulative: float | None = Field(description="Of leads dialled (stages only).")


class MoneyChange(BaseModel):
    value: MoneyFigure | None = Field(description="This week; null when undefined (no dials…).")
    previous: MoneyFigure | None = Field(description="The week before.")
    change: MoneyFigure | None = Field(description="value − previous.")
    change_pct: float | None = Field(
        description="change / |previous|: positive means the figure went up."
    )


class RatioChange(BaseModel):
    value: float | None
    previous: float | None
    change: float | None = Field(description="value − previous, in the ratio's own unit.")


class WeekMoney(FigureModel):
    """The week's money from the activity funnel's economics (docs/metrics.md → Money)."""

    __figures__ = WEEK_MONEY_FIGURES

    cost: MoneyChange
    cost_per_dial: MoneyChange
    margin: MoneyChange = Field(description="Of the contracts signed this week.")
    profit_per_call: MoneyChange = Field(description="(margin − cost) / dials.")
    profit_per_application: MoneyChange = Field(
        description="(margin − cost) / applications created this week."
    )
    roi: RatioChange = Field(description="(margin − cost) / cost.")

    def change(self, key: str) -> MoneyChange | RatioChange:
        change: MoneyChange | RatioChange = getattr(self, key)
        return change


class ManagerLeads(FigureModel):
    """The week's activity funnel of the leads that belong to the manager (owner, else first
    dialler: docs/metrics.md → Grouping), whoever made the calls."""

    __figures__ = MANAGER_LEAD_FIGURES

    dials: int
    leads_dialed: int
    reached: int
    conversation: int
    second_call: int
    application: int
    contract: int
    cost: MoneyFigure
    profit_per_call: MoneyFigure | None


class ManagerCalls(FigureModel):
    """The calls the manager made this week (all directions, any lead or none)."""

    __figures__ = MANAGER_CALL_FIGURES

    calls: int
    answered: int
    answer_rate: float | None
    talk_seconds: int


class ManagerRow(BaseModel):
    employee_id: str | None = Field(description="Null: leads or calls without an employee.")
    name: str | None
    leads: ManagerLeads
    calls: ManagerCalls


class Cohort(FigureModel):
    """The leads first dialled in one week, followed to ``as_of``.

    docs/metrics.md → Cohort mode.
    """

    __figures__ = COHORT_FIGURES

    week: str
    first_day: date
    age_days: int = Field(description="Whole days from the end of the cohort's week to as_of.")
    young: bool = Field(
        description="Under 28 days old, or still with open applications: its figures will move."
    )
    leads_dialed: int
    dials: int
    reached: int
    conversation: int
    second_call: int
    application: int
    contract: int
    open_applications: int
    cost: MoneyFigure
    profit_per_call: MoneyFigure | None = Field(description="Realised.")
    profit_per_application: MoneyFigure | None = Field(description="Realised.")
    expected_profit_per_call: MoneyFigure | None = Field(
        description="Open applications counted at the reference win rate (the forecast)."
    )
    expected_profit_per_application: MoneyFigure | None
    forecast_source: Literal["history", "prior"]


class HourCell(BaseModel):
    hour: int = Field(description="Local hour: 9 is 09:00–10:00.")
    calls: int
    answered: int
    answer_rate: float | None


class WeekdayRow(BaseModel):
    weekday: int = Field(description="ISO weekday: 1 Monday … 7 Sunday.")
    cells: list[HourCell] = Field(description="One per hour of ``hours``.")


class CallTimes(BaseModel):
    """When calls happen: every call of the week by local weekday and hour."""

    hours: list[int] = Field(description="The working day, widened to every hour with calls.")
    weekdays: list[WeekdayRow]


class LossReason(BaseModel):
    kind: LossKind = Field(
        description="refusal: leads with a call tagged refused this week, by the lead's refusal "
        "reason (null: the lead was not closed as refused); lost_application: applications "
        "closed as lost this week, by their lost reason."
    )
    reason: str | None
    count: int


class WeeklyReport(BaseModel):
    """What the sales head reads on Monday: the week's funnel and money against the week before,
    each manager, the last eight cohorts, when calls are answered and why leads are lost."""

    period: ReportPeriod
    previous_week: str
    currency: str
    funnel: list[FunnelStep]
    money: WeekMoney
    managers: list[ManagerRow] = Field(description="Sorted by profit per call, best first.")
    managers_total: ManagerRow = Field(description="The week's totals (equal to the funnel's).")
    cohorts: list[Cohort] = Field(description="The last eight weekly cohorts, oldest first.")
    call_times: CallTimes
    losses: list[LossReason]
    callbacks: CallbacksSection | None = Field(
        default=None,
        description="Missed calls and callbacks of the week against the week before, per "
        "manager, and the hot leads lost (docs/callbacks.md).",
    )
    script_quality: ScriptQualitySection | None = Field(
        default=None,
        description="The scored calls of the week (docs/script_quality.md).",
    )
