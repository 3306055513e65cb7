"""The product's figures, declared once: key, English and Russian label, kind, and formula.

Every consumer reads this table — the funnel computes its economics and forecast by running the
formulas over its roll-up, the call statistics over their sums, the typed response models take
their field descriptions from it (``documented_by``), and the weekly report's tables, html and
xlsx take labels and number kinds from it. Adding a figure is one row here (its formula over the
roll-up) plus its typed field on the response model (``app/metrics/schemas.py``); the model
refuses to load if the two disagree, so neither can be forgotten.

The formulas are those of docs/metrics.md → Money and Forecast. They run inside the funnel's
wide decimal context: nothing is rounded here (money is rounded once, when serialised).

Stage names are written here only (``STAGES``); everything else iterates them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, Literal, TypeAlias, TypeVar

FigureKind: TypeAlias = Literal["count", "ratio", "number", "money", "seconds"]
"""count: an int; ratio: a share or a return (shown as %); number: a plain quotient (dials per
application); money: Decimal in the currency; seconds: a duration."""
FigureValue: TypeAlias = "int | float | Decimal | None"
Block: TypeAlias = Literal["funnel", "stage", "economics", "forecast", "calls"]
"""Where the figure sits in an answer: the funnel's top level, one of its stages, its economics,
its forecast, or the call statistics."""

R = TypeVar("R")


# --------------------------------------------------------------------------- stages


@dataclass(frozen=True, slots=True)
class Stage:
    number: int
    key: str
    en: str
    ru: str
    description: str


STAGES: tuple[Stage, ...] = (
    Stage(1, "reached", "Reached", "Дозвон", "Leads with a call answered (reached_s)."),
    Stage(
        2,
        "conversation",
        "First conversation",
        "Первый разговор",
        "Leads with a conversation (conversation_s).",
    ),
    Stage(
        3,
        "second_call",
        "Second call",
        "Второй звонок",
        "Leads with a second conversation after the gap (second_call_s).",
    ),
    Stage(4, "application", "Application", "Заявка", "Leads with an application."),
    Stage(5, "contract", "Contract", "Договор", "Leads with a signed contract."),
)
STAGE_NAMES: tuple[str, ...] = tuple(stage.key for stage in STAGES)


# --------------------------------------------------------------------------- roll-ups


@dataclass(frozen=True, slots=True)
class ForecastRollUp:
    """What the forecast figures are computed from (cohort mode only)."""

    source: Literal["history", "prior"]
    open_applications: int  # O
    win_rate: Decimal | None  # the reference win rate, None when the prior is unset
    margin: Decimal | None  # the reference margin per contract
    expected_margin: Decimal | None  # M + O × win_rate × margin, None when unknown


@dataclass(frozen=True, slots=True)
class RollUp:
    """The sums of one funnel (total or group): every economics figure is a formula over it."""

    dials: int  # D
    leads_dialed: int
    talk_seconds: int
    stage_counts: tuple[int, ...]  # leads at stages 1..5, in ``STAGES`` order
    cost: Decimal  # C
    applications: int  # A
    contracts: int  # K
    revenue: Decimal  # R
    margin: Decimal  # M
    forecast: ForecastRollUp | None = None

    @property
    def profit(self) -> Decimal:
        return self.margin - self.cost


@dataclass(frozen=True, slots=True)
class CallRollUp:
    """The sums of one group of calls."""

    calls: int
    outbound: int
    inbound: int
    answered: int
    talk_seconds: int
    missed_inbound: int

    @classmethod
    def total(cls, parts: Iterable[CallRollUp]) -> CallRollUp:
        """The sums of several groups of calls, field by field."""
        parts = list(parts)
        return cls(
            *(sum(getattr(part, name) for part in parts) for name in cls.__dataclass_fields__)
        )


def per(amount: Decimal, count: int) -> Decimal | None:
    """``amount / count``; None (undefined, shown as a dash) when there is nothing to divide by."""
    return None if count == 0 else amount / count


def ratio(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


def _expected_per(forecast: ForecastRollUp | None, cost: Decimal, count: int) -> Decimal | None:
    if forecast is None or forecast.expected_margin is None:
        return None
    return per(forecast.expected_margin - cost, count)


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True, slots=True)
class Figure(Generic[R]):
    key: str  # the JSON field, the csv header, the label key
    en: str
    ru: str
    kind: FigureKind
    block: Block
    formula: Callable[[R], FigureValue]
    description: str

    def label(self, lang: str) -> str:
        return self.ru if lang == "ru" else self.en


FUNNEL_FIGURES: tuple[Figure[RollUp], ...] = (
    Figure(
        "dials", "Dials", "Звонки", "count", "funnel", lambda r: r.dials, "Outbound calls in scope."
    ),
    Figure(
        "leads_dialed",
        "Leads dialled",
        "Лиды в обзвоне",
        "count",
        "funnel",
        lambda r: r.leads_dialed,
        "Cohort: leads first dialled in the period; activity: leads dialled in it.",
    ),
    Figure(
        "talk_seconds",
        "Talk time",
        "Время разговоров",
        "seconds",
        "funnel",
        lambda r: r.talk_seconds,
        "Talk time of the calls in scope, all directions.",
    ),
)


def _stage_figure(index: int, stage: Stage) -> Figure[RollUp]:
    return Figure(
        stage.key,
        stage.en,
        stage.ru,
        "count",
        "stage",
        lambda r: r.stage_counts[index],
        stage.description,
    )


STAGE_FIGURES: tuple[Figure[RollUp], ...] = tuple(
    _stage_figure(index, stage) for index, stage in enumerate(STAGES)
)

ECONOMICS_FIGURES: tuple[Figure[RollUp], ...] = (
    Figure(
        "cost",
        "Cost",
        "Затраты",
        "money",
        "economics",
        lambda r: r.cost,
        "C: telephony for the billed outbound minutes plus labour for the busy seconds.",
    ),
    Figure(
        "cost_per_dial",
        "Cost per dial",
        "Стоимость звонка",
        "money",
        "economics",
        lambda r: per(r.cost, r.dials),
        "C / D.",
    ),
    Figure(
        "applications",
        "Applications",
        "Заявки",
        "count",
        "economics",
        lambda r: r.applications,
        "A: applications created in the window.",
    ),
    Figure(
        "contracts",
        "Contracts",
        "Договоры",
        "count",
        "economics",
        lambda r: r.contracts,
        "K: contracts signed in the window.",
    ),
    Figure(
        "revenue",
        "Revenue",
        "Выручка",
        "money",
        "economics",
        lambda r: r.revenue,
        "R: the amounts of the K contracts.",
    ),
    Figure(
        "margin",
        "Margin",
        "Маржа",
        "money",
        "economics",
        lambda r: r.margin,
        "M: the margins of the K contracts (amount × default_margin_rate where not given).",
    ),
    Figure(
        "avg_margin_per_contract",
        "Average margin per contract",
        "Средняя маржа договора",
        "money",
        "economics",
        lambda r: per(r.margin, r.contracts),
        "M / K.",
    ),
    Figure(
        "margin_per_dial",
        "Margin per dial",
        "Маржа на звонок",
        "money",
        "economics",
        lambda r: per(r.margin, r.dials),
        "M / D: the gross value of one dial.",
    ),
    Figure(
        "profit_per_call",
        "Profit per call",
        "Прибыль на звонок",
        "money",
        "economics",
        lambda r: per(r.profit, r.dials),
        "(M − C) / D: realised profit per dial.",
    ),
    Figure(
        "profit_per_application",
        "Profit per application",
        "Прибыль на заявку",
        "money",
        "economics",
        lambda r: per(r.profit, r.applications),
        "(M − C) / A.",
    ),
    Figure(
        "cost_per_application",
        "Cost per application",
        "Стоимость заявки",
        "money",
        "economics",
        lambda r: per(r.cost, r.applications),
        "C / A.",
    ),
    Figure(
        "dials_per_application",
        "Dials per application",
        "Звонков на заявку",
        "number",
        "economics",
        lambda r: ratio(r.dials, r.applications),
        "D / A (a number, not money).",
    ),
    Figure(
        "break_even_cost_per_dial",
        "Break-even cost per dial",
        "Безубыточная стоимость звонка",
        "money",
        "economics",
        lambda r: per(r.margin, r.dials),
        "M / D: calling pays while cost_per_dial stays below it.",
    ),
    Figure(
        "roi",
        "ROI",
        "ROI",
        "ratio",
        "economics",
        lambda r: None if r.cost == 0 else r.profit / r.cost,
        "(M − C) / C (a number).",
    ),
)

FORECAST_FIGURES: tuple[Figure[RollUp], ...] = (
    Figure(
        "open_applications",
        "Open applications",
        "Открытые заявки",
        "count",
        "forecast",
        lambda r: None if r.forecast is None else r.forecast.open_applications,
        "O: applications still open at as_of.",
    ),
    Figure(
        "reference_win_rate",
        "Reference win rate",
        "Доля выигранных заявок",
        "ratio",
        "forecast",
        lambda r: None if r.forecast is None else r.forecast.win_rate,
        "Won / (won + lost) of the reference applications, or the prior.",
    ),
    Figure(
        "reference_margin",
        "Reference margin per contract",
        "Маржа договора по истории",
        "money",
        "forecast",
        lambda r: None if r.forecast is None else r.forecast.margin,
        "Mean margin of the won reference applications' contracts, or the prior.",
    ),
    Figure(
        "expected_margin",
        "Expected margin",
        "Ожидаемая маржа",
        "money",
        "forecast",
        lambda r: None if r.forecast is None else r.forecast.expected_margin,
        "M + O × reference_win_rate × reference_margin.",
    ),
    Figure(
        "expected_profit_per_call",
        "Expected profit per call",
        "Ожидаемая прибыль на звонок",
        "money",
        "forecast",
        lambda r: _expected_per(r.forecast, r.cost, r.dials),
        "(expected_margin − C) / D.",
    ),
    Figure(
        "expected_profit_per_application",
        "Expected profit per application",
        "Ожидаемая прибыль на заявку",
        "money",
        "forecast",
        lambda r: _expected_per(r.forecast, r.cost, r.applications),
        "(expected_margin − C) / A.",
    ),
)

CALL_FIGURES: tuple[Figure[CallRollUp], ...] = (
    Figure("calls", "Calls", "Звонки", "count", "calls", lambda c: c.calls, "Calls started."),
    Figure(
        "outbound", "Outbound", "Исходящие", "count", "calls", lambda c: c.outbound, "Outbound."
    ),
    Figure("inbound", "Inbound", "Входящие", "count", "calls", lambda c: c.inbound, "Inbound."),
    Figure(
        "answered",
        "Answered",
        "Отвечено",
        "count",
        "calls",
        lambda c: c.answered,
        "Calls answered.",
    ),
    Figure(
        "answer_rate",
        "Answer rate",
        "Доля ответов",
        "ratio",
        "calls",
        lambda c: ratio(c.answered, c.calls),
        "answered / calls.",
    ),
    Figure(
        "talk_seconds",
        "Talk time",
        "Время разговоров",
        "seconds",
        "calls",
        lambda c: c.talk_seconds,
        "Talk time, all directions.",
    ),
    Figure(
        "avg_talk_seconds",
        "Average talk time",
        "Среднее время разговора",
        "seconds",
        "calls",
        lambda c: None if c.answered == 0 else c.talk_seconds / c.answered,
        "talk_seconds / answered: per answered call.",
    ),
    Figure(
        "missed_inbound",
        "Missed inbound",
        "Пропущенные входящие",
        "count",
        "calls",
        lambda c: c.missed_inbound,
        "Inbound calls not answered.",
    ),
)

FUNNEL_TABLE: tuple[Figure[RollUp], ...] = (
    *FUNNEL_FIGURES,
    *STAGE_FIGURES,
    *ECONOMICS_FIGURES,
    *FORECAST_FIGURES,
)


def _by_key(figures: Iterable[Figure[Any]]) -> dict[str, Figure[Any]]:
    table: dict[str, Figure[Any]] = {}
    for figure in figures:
        known = table.get(figure.key)
        # One key, one meaning: a key shared by two blocks (talk_seconds) must read the same.
        if known is not None and (known.en, known.ru, known.kind) != (
            figure.en,
            figure.ru,
            figure.kind,
        ):
            raise ValueError(f"figure {figure.key!r} is declared twice, differently")
        table.setdefault(figure.key, figure)
    return table


FIGURES: Mapping[str, Figure[Any]] = _by_key((*FUNNEL_TABLE, *CALL_FIGURES))
"""Every figure by key: labels, kind and description for whoever shows one."""


def figure(key: str) -> Figure[Any]:
    try:
        return FIGURES[key]
    except KeyError:
        raise KeyError(f"no figure {key!r} in app/metrics/figures.py") from None


def compute(figures: Iterable[Figure[R]], roll_up: R) -> dict[str, FigureValue]:
    """The figures of a block, by key, computed over one roll-up."""
    return {row.key: row.formula(roll_up) for row in figures}
