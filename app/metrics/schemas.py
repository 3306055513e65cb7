"""The metrics' answers, typed: the funnel and the call statistics, field by field.

The figures' descriptions come from ``app/metrics/figures.py``; a ``FigureModel`` checks when it is
defined that its figure fields are exactly its block of that table, in order, so a row added
there without its field here (or the reverse) stops the application from starting.

Money is ``Decimal`` kept unrounded (``MoneyFigure``) and serialised to two places; ratios that
are ``Decimal`` in the computation (ROI, the win rate) are serialised as JSON numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from app.metrics.figures import (
    CALL_FIGURES,
    ECONOMICS_FIGURES,
    FIGURES,
    FORECAST_FIGURES,
    FUNNEL_FIGURES,
    STAGE_NAMES,
    Figure,
    FigureValue,
)
from app.metrics.figures import figure as figure_row
from app.money import MoneyFigure

JsonObject = dict[str, Any]


def member_of(names: Sequence[str], what: str) -> AfterValidator:
    """Refuses a ``str`` that is not one of ``names``: the names stay written once (in the
    figures table), not again as a ``Literal``."""

    def known(value: str) -> str:
        if value not in names:
            raise ValueError(f"not a {what}: {value!r}")
        return value

    return AfterValidator(known)


def enum_schema(names: Sequence[str]) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": list(names)})


StageName = Annotated[str, member_of(STAGE_NAMES, "funnel stage"), enum_schema(STAGE_NAMES)]

DecimalRatio = Annotated[
    Decimal,
    PlainSerializer(float, return_type=float),
    WithJsonSchema({"type": "number"}),
]
"""A ratio computed in Decimal (ROI, a win rate), shown as a JSON number."""


class FigureModel(BaseModel):
    """A model whose figure fields are exactly the rows of ``__figures__``, in their order; its
    other fields (keys, labels, nested answers) are no figures of the table."""

    model_config = ConfigDict(extra="forbid")
    __figures__: ClassVar[tuple[Figure[Any], ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # Any field named like a figure of the table must be one of this model's rows.
        declared = [name for name in cls.model_fields if name in FIGURES]
        expected = [row.key for row in cls.__figures__]
        if declared != expected:
            raise TypeError(
                f"{cls.__name__} declares the figures {declared}, but app/metrics/figures.py has "
                f"{expected}: add the field (or the row) so the two agree"
            )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        properties = target.get("properties", {})
        for row in cls.__figures__:
            if row.key in properties:
                properties[row.key].setdefault("description", row.description)
        return schema

    def figure_values(self) -> dict[str, Any]:
        """This model's figures by key (unrounded)."""
        return {row.key: getattr(self, row.key) for row in self.__figures__}


class Period(BaseModel):
    from_: datetime = Field(serialization_alias="from", description="Start (UTC), inclusive.")
    to: datetime = Field(description="End (UTC), exclusive.")
    timezone: str = Field(description="The reporting time zone the period was read in.")
    mode: Literal["cohort", "activity"] = Field(
        description="cohort: the leads first dialled in the period, followed to as_of; "
        "activity: what happened in the period."
    )
    as_of: datetime = Field(description="Evidence, applications and contracts counted up to it.")


class StageFigure(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: int = Field(description="1..5.")
    name: StageName = Field(description="The stage's name.")
    count: int = Field(description="Leads that reached the stage (monotonic roll-up).")
    conversion: float | None = Field(
        description="count / the previous stage's count (stage 1: of leads dialled)."
    )
    conversion_ci95: tuple[float, float] | None = Field(
        description="Wilson 95% interval of the conversion (cohort mode only)."
    )
    cumulative: float | None = Field(description="count / leads dialled.")


class ForecastFigures(FigureModel):
    """Expected figures: open applications counted at the reference win rate (cohort mode)."""

    __figures__ = FORECAST_FIGURES

    source: Literal["history", "prior"] = Field(
        description="history: enough reference applications closed; else the configured prior."
    )
    open_applications: int
    reference_win_rate: DecimalRatio | None
    reference_margin: MoneyFigure | None
    expected_margin: MoneyFigure | None
    expected_profit_per_call: MoneyFigure | None
    expected_profit_per_application: MoneyFigure | None


class Economics(FigureModel):
    """The money of the funnel; null where a denominator is zero."""

    __figures__ = ECONOMICS_FIGURES

    cost: MoneyFigure
    cost_per_dial: MoneyFigure | None
    applications: int
    contracts: int
    revenue: MoneyFigure
    margin: MoneyFigure
    avg_margin_per_contract: MoneyFigure | None
    margin_per_dial: MoneyFigure | None
    profit_per_call: MoneyFigure | None
    profit_per_application: MoneyFigure | None
    cost_per_application: MoneyFigure | None
    dials_per_application: float | None
    break_even_cost_per_dial: MoneyFigure | None
    roi: DecimalRatio | None
    forecast: ForecastFigures | None = Field(description="Cohort mode only; null in activity mode.")


class FunnelFigures(FigureModel):
    """One funnel's figures: the total, or one group's."""

    __figures__ = FUNNEL_FIGURES

    dials: int
    leads_dialed: int
    talk_seconds: int
    stages: list[StageFigure] = Field(description="Stages 1..5, in order.")
    economics: Economics

    def to_json(self) -> JsonObject:
        return self.model_dump(mode="json")

    def figure(self, key: str) -> FigureValue:
        """Any figure of the table by its key, wherever it sits in this answer (unrounded)."""
        block = figure_row(key).block
        if block == "stage":
            return self.stages[STAGE_NAMES.index(key)].count
        if block == "funnel":
            value: FigureValue = getattr(self, key)
        elif block == "economics":
            value = getattr(self.economics, key)
        elif block == "forecast":
            forecast = self.economics.forecast
            value = None if forecast is None else getattr(forecast, key)
        else:
            raise KeyError(f"{key!r} is not a funnel figure")
        return value


class _Keyed(BaseModel):
    key: str | None = Field(description="The group: employee id, campaign, script id or week.")
    label: str | None = Field(description="Its display name (the employee's name…).")


class FunnelGroup(FunnelFigures, _Keyed):
    """A group's key and label, then the same fields as the total (bases in this order put
    ``key`` and ``label`` first)."""


class FunnelResponse(BaseModel):
    period: Period = Field(description="The period asked for, as instants, and the mode.")
    currency: str = Field(description="The currency of every amount (settings).")
    total: FunnelFigures = Field(description="The figures of every selected lead.")
    groups: list[FunnelGroup] | None = Field(
        default=None, description="Present with group_by: the same fields plus key and label."
    )


class CallStats(FigureModel):
    __figures__ = CALL_FIGURES

    key: str | None = Field(
        default=None,
        description="The group: employee id, local date, hour (09), weekday (1 = Monday) or "
        "weekday-hour (1-09); null in the total.",
    )
    label: str | None = Field(default=None, description="Its display name.")
    calls: int
    outbound: int
    inbound: int
    answered: int
    answer_rate: float | None
    talk_seconds: int
    avg_talk_seconds: float | None
    missed_inbound: int


class CallPeriod(BaseModel):
    from_: datetime = Field(serialization_alias="from", description="Start (UTC), inclusive.")
    to: datetime = Field(description="End (UTC), exclusive.")
    timezone: str = Field(description="The reporting time zone the period was read in.")


class CallStatsResponse(BaseModel):
    period: CallPeriod = Field(description="The period asked for, as instants.")
    total: CallStats = Field(description="Every call of the period the caller may read.")
    groups: list[CallStats] | None = Field(
        default=None, description="Present with group_by, in key order."
    )
