"""Overview: the period's funnel, its money against the period before, eight-week trends and the
callbacks at a glance. Every figure is the metrics service's answer to the API's own query
(``/api/v1/metrics/funnel?from=…&to=…&mode=…``, ``/api/v1/metrics/callbacks``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import partial
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from markupsafe import Markup

from app.dashboard.auth import PagePrincipal
from app.dashboard.i18n import lang_of, translate
from app.dashboard.periods import DayRange
from app.dashboard.picker import PickDep
from app.dashboard.rendering import render
from app.dashboard.routing import page_router
from app.db import SessionDep
from app.metrics.figures import STAGES
from app.metrics.figures import figure as figure_row
from app.metrics.funnel import GroupFigures, week_key
from app.metrics.schemas import FunnelFigures
from app.metrics.service import metrics_service
from app.reports import charts
from app.reports.i18n import DASH, Formatter
from app.reports.schemas import MoneyChange
from app.reports.weekly import figure_change
from app.settings.dependencies import EconomicsDep

router = page_router()

# The money tiles: (figure, whether up is good).
MONEY_TILES: tuple[tuple[str, bool], ...] = (
    ("cost_per_dial", False),
    ("profit_per_call", True),
    ("expected_profit_per_call", True),
    ("profit_per_application", True),
    ("expected_profit_per_application", True),
    ("roi", True),
    ("break_even_cost_per_dial", True),
)
TREND_SERIES = (
    ("leads_dialed", charts.BLUE),
    ("reached", charts.TEAL),
    ("conversation", charts.ORANGE),
    ("application", charts.PURPLE),
)
TREND_MONEY = ("profit_per_call", "expected_profit_per_call")


def tone(change: int | float | Decimal | None, *, up_is_good: bool) -> str:
    if change is None or change == 0:
        return ""
    return "good" if (change > 0) == up_is_good else "bad"


@dataclass(frozen=True, slots=True)
class Tile:
    key: str
    value: object  # unrounded, for data-value
    shown: str
    change: str
    tone: str


def money_tile(
    key: str, up_is_good: bool, current: FunnelFigures, previous: FunnelFigures, fmt: Formatter
) -> Tile:
    change = figure_change(figure_row(key), current, previous)
    if isinstance(change, MoneyChange):
        shown = fmt.money(change.value)
        moved = (
            DASH if change.change is None else fmt.signed(fmt.money(change.change), change.change)
        )
        delta: Decimal | float | None = change.change
    else:
        shown, moved, delta = fmt.percent(change.value), fmt.points(change.change), change.change
    return Tile(key, current.figure(key), shown, moved, tone(delta, up_is_good=up_is_good))


@dataclass(frozen=True, slots=True)
class TrendWeek:
    key: str  # "2026-W47"
    figures: FunnelFigures | None  # None: no lead that week

    def value(self, key: str) -> float | None:
        value = None if self.figures is None else self.figures.figure(key)
        return None if value is None else float(value)


def trend_weeks(days: DayRange, zone: ZoneInfo, groups: Sequence[GroupFigures]) -> list[TrendWeek]:
    """One entry per week of ``days``, those without leads too: the axis never skips a week."""
    by_key = {group.key: group.figures for group in groups}
    keys = [
        week_key(datetime.combine(days.first + timedelta(days=7 * n), time(12), zone), zone)
        for n in range((days.end - days.first).days // 7)
    ]
    return [TrendWeek(key, by_key.get(key)) for key in keys]


def trend_charts(weeks: Sequence[TrendWeek], fmt: Formatter) -> tuple[Markup, Markup]:
    names = [week.key.split("-")[-1] for week in weeks]
    volume = charts.line_chart(
        names,
        [
            charts.Series(fmt.label(key), colour, [week.value(key) for week in weeks])
            for key, colour in TREND_SERIES
        ],
        title=f"{fmt.label('trend')}: {fmt.label('leads_dialed')}",
        value_label=fmt.number,
        width=540,
    )
    money = charts.line_chart(
        names,
        [
            charts.Series(
                fmt.label(key), colour, [week.value(key) for week in weeks], dashed=dashed
            )
            for key, colour, dashed in (
                (TREND_MONEY[0], charts.BLUE, False),
                (TREND_MONEY[1], charts.GREEN, True),
            )
        ],
        title=f"{fmt.label('trend')}: {fmt.label(TREND_MONEY[0])}",
        value_label=lambda value: f"{fmt.number(value)}\u00a0{fmt.currency_sign}",
        width=540,
    )
    return volume, money


def funnel_chart(
    current: FunnelFigures, previous: FunnelFigures, fmt: Formatter, t: Callable[[str], str]
) -> Markup:
    bars = [
        charts.FunnelBar(
            fmt.label("leads_dialed"),
            current.leads_dialed,
            previous.leads_dialed,
            fmt.number(current.leads_dialed),
        )
    ]
    for stage, now, before in zip(STAGES, current.stages, previous.stages, strict=True):
        note = fmt.number(now.count) + (
            "" if now.conversion is None else f" · {fmt.percent(now.conversion)}"
        )
        bars.append(charts.FunnelBar(fmt.label(stage.key), now.count, before.count, note))
    return charts.funnel_chart(
        bars,
        title=fmt.label("funnel"),
        this_week=t("this_period"),
        previous_week=t("previous_period"),
    )


@router.get("/")
async def overview(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    economics: EconomicsDep,
    pick: PickDep,
) -> Response:
    days, trend_days = pick.days, pick.days.trend_weeks()
    current, previous, trend = await metrics_service.funnel_results(
        session,
        [pick.funnel(), pick.funnel(days.previous()), pick.funnel(trend_days, "week")],
        principal,
        economics,
        now=pick.now,
    )
    callbacks = await pick.callbacks(session, economics, principal)
    fmt = Formatter(lang_of(request), economics.currency)
    total, before = current.result.total, previous.result.total
    weeks = trend_weeks(trend_days, pick.zone, trend.result.groups or ())
    volume_chart, money_chart = trend_charts(weeks, fmt)
    return render(
        request,
        "overview.html",
        currency=economics.currency,
        pick=pick,
        previous_days=days.previous(),
        total=total,
        previous=before,
        stages=list(zip(STAGES, total.stages, before.stages, strict=True)),
        funnel_chart=funnel_chart(total, before, fmt, partial(translate, lang=fmt.lang)),
        tiles=[money_tile(key, up, total, before, fmt) for key, up in MONEY_TILES],
        weeks=weeks,
        trend_figures=[key for key, _ in TREND_SERIES] + list(TREND_MONEY),
        volume_chart=volume_chart,
        money_chart=money_chart,
        callbacks=callbacks.total,
    )
