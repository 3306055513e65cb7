"""The five-stage cold-call funnel and its money (docs/metrics.md), over one row per lead.

The split (docs/architecture.md, "Rules of the house"): SQL classifies each call's stage evidence
and reduces a lead's calls to one ``LeadRow``; this module does everything else — the monotonic
roll-up, cohort and activity modes, Wilson intervals, money, the forecast and grouping. It is pure:
no database, no clock, no I/O, and never one object per call.

Money is ``Decimal`` from end to end. Intermediate values are never rounded on purpose; they are
computed in a wide decimal context (``_PRECISION`` digits) so that the only rounding that matters
is ``ROUND_HALF_UP`` to two places when a figure is serialised (``to_json``).

What the SQL provides (``app/metrics/queries.py``; ``tests/metrics/reference.py`` is the
executable reading of it):

- ``leads``: one ``LeadRow`` per cold lead (an outbound call by as_of; calls not linked to a lead
  and internal calls never count). Cohort: at least the leads first dialled in ``[start, end)``,
  with sums over all their calls ``<= as_of``. Activity: at least the leads with a call started in
  the period, or an application created or a contract signed in it (all ``<= as_of``), with sums
  over their calls started in the period; with ``group_by="week"`` also ``weeks``, the same sums
  per slice of ``week_slices`` (bounds computed here, in Python, as time zones must be). Extra
  leads are harmless: the cohort and the activity are chosen here. A row may stand for several
  leads alike (``LeadRow.leads``); ``FunnelFold`` takes the rows one at a time, as they stream.
- ``applications``: every application of those leads (contract joined), whatever its date.
- ``reference_applications``: the applications of all cold leads created in
  ``[as_of − reference_days, as_of)`` — never grouped or filtered.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, localcontext
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo

from app.metrics.figures import (
    ECONOMICS_FIGURES,
    FORECAST_FIGURES,
    STAGE_NAMES,
    STAGES,
    ForecastRollUp,
    RollUp,
    compute,
    ratio,
)
from app.metrics.schemas import (
    Economics,
    ForecastFigures,
    FunnelFigures,
    FunnelGroup,
    JsonObject,
    StageFigure,
)
from app.money import MINOR_UNITS, from_minor
from app.settings.schemas import EconomicsSettings

Mode: TypeAlias = Literal["cohort", "activity"]
GroupBy: TypeAlias = Literal["employee", "campaign", "script", "week"]
ForecastSource: TypeAlias = Literal["history", "prior"]
WILSON_Z = 1.959963984540054
"""``statistics.NormalDist().inv_cdf(0.975)``, written out as docs/metrics.md gives it."""

APPLICATION_LOST = "lost"
_SECONDS_PER_HOUR = 3600
# Wide enough that a repeating quotient (labour is divided by 3600, costs by dial counts) is
# exact far beyond the two places shown; the default 28 digits would do, this leaves margin.
_PRECISION = 50
_ZERO = Decimal(0)


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class WeekSums:
    """A lead's call sums within one week slice of an activity period (``week_slices``).

    Needed only for ``mode="activity", group_by="week"``, where each slice is computed on its own.
    """

    week: str  # the slice's key, e.g. "2026-W47" (``WeekSlice.key``)
    dialled: bool  # an outbound call started in the slice
    dials: int
    talk_seconds: int
    billable_minutes: int
    labour_minor_seconds: int


@dataclass(frozen=True, slots=True)
class LeadRow:
    """One cold lead (dialled at least once by as_of), reduced by SQL."""

    lead_id: str
    # The lead's group for group_by employee/campaign/script (employee id, campaign, script id or
    # None). Week grouping is computed here from first_dial_at (local ISO week) and ``weeks``.
    group_key: str | None
    group_label: str | None  # display label of the group (employee name...)
    first_dial_at: datetime  # first outbound call, ever, by as_of (aware)
    # Earliest stage-1, stage-2, stage-3 evidence time from CALLS only, by as_of, NOT rolled up.
    evidence_at: tuple[datetime | None, datetime | None, datetime | None]
    dialled_in_period: bool  # activity mode: the lead had an outbound call started in the period
    # Sums over the mode's in-scope calls of this lead (cohort: all calls <= as_of; activity: calls
    # started in the period and <= as_of).
    dials: int  # outbound calls in scope
    talk_seconds: int  # all directions in scope
    billable_minutes: int  # sum of ceil(talk_seconds/60) over OUTBOUND in-scope calls
    # Sum over in-scope calls of hourly_cost_minor(employee or default) *
    # (duration_seconds + (wrapup_seconds if answered else 0)); / (3600 * 100) is money.
    labour_minor_seconds: int
    # Activity mode with group_by="week" only: the same sums cut by week slice (slices without
    # calls may be left out). Must add up to the sums above.
    weeks: tuple[WeekSums, ...] = ()
    # How many leads the row stands for: more than one only for leads the figures cannot tell
    # apart (same group, same stages reached; the sums above are then their totals), which the
    # kept cohort path counts in SQL instead of sending each (docs/metrics.md → Kept evidence).
    leads: int = 1

    def __post_init__(self) -> None:
        _require_aware("first_dial_at", self.first_dial_at)
        for stage, moment in enumerate(self.evidence_at, start=1):
            if moment is not None:
                _require_aware(f"evidence_at[stage {stage}]", moment)


@dataclass(frozen=True, slots=True)
class ApplicationRow:
    application_id: str
    lead_id: str
    created_at: datetime
    status: str  # open / won / lost (current)
    closed_at: datetime | None  # when lost (or won)
    contract_signed_at: datetime | None
    contract_amount_minor: int | None
    contract_margin_minor: int | None  # None → amount × default_margin_rate

    def __post_init__(self) -> None:
        _require_aware("created_at", self.created_at)
        for name, moment in (("closed_at", self.closed_at), ("signed_at", self.contract_signed_at)):
            if moment is not None:
                _require_aware(name, moment)
        if (self.contract_signed_at is None) != (self.contract_amount_minor is None):
            raise ValueError(
                f"application {self.application_id}: a contract has both signed_at and amount"
            )


@dataclass(frozen=True, slots=True)
class FunnelQuery:
    """``start``/``end`` are the instants of the local period ``[from, to)``; all aware."""

    mode: Mode
    start: datetime
    end: datetime
    as_of: datetime
    zone: ZoneInfo
    group_by: GroupBy | None = None

    def __post_init__(self) -> None:
        for name in ("start", "end", "as_of"):
            _require_aware(name, getattr(self, name))
        if self.end < self.start:
            raise ValueError("the period ends before it starts")


def _require_aware(name: str, moment: datetime) -> None:
    # Naive datetimes compare wrongly (or raise) against aware ones; refuse them where they enter.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


# --------------------------------------------------------------------------- weeks


@dataclass(frozen=True, slots=True)
class WeekSlice:
    """The part of the period inside one local ISO week: ``[start, end)``, UTC."""

    key: str  # "2026-W47"
    label: str  # local dates covered, "2026-11-16..2026-11-22"
    start: datetime
    end: datetime


def week_key(moment: datetime, zone: ZoneInfo) -> str:
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def week_slices(start: datetime, end: datetime, zone: ZoneInfo) -> tuple[WeekSlice, ...]:
    """Cut ``[start, end)`` at local Monday midnights. The SQL buckets calls by these bounds."""
    slices: list[WeekSlice] = []
    cursor = start
    while cursor < end:
        local = cursor.astimezone(zone)
        monday = local.date() - timedelta(days=local.weekday())
        slice_end = min(_local_midnight(monday + timedelta(days=7), zone), end)
        last_day = (slice_end - timedelta(microseconds=1)).astimezone(zone).date()
        slices.append(
            WeekSlice(
                key=week_key(cursor, zone),
                label=f"{local.date().isoformat()}..{last_day.isoformat()}",
                start=cursor.astimezone(UTC),
                end=slice_end.astimezone(UTC),
            )
        )
        cursor = slice_end
    return tuple(slices)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


# --------------------------------------------------------------------------- outputs


# The figures themselves are the typed response models of ``app/metrics/schemas.py``
# (``FunnelFigures``, ``StageFigure``, ``Economics``, ``ForecastFigures``): money in them is
# unrounded ``Decimal``, rounded only when serialised.


@dataclass(frozen=True, slots=True)
class GroupFigures:
    key: str | None
    label: str | None
    figures: FunnelFigures

    def to_json(self) -> JsonObject:
        return self.to_response().model_dump(mode="json")

    def to_response(self) -> FunnelGroup:
        return FunnelGroup.model_validate(
            {"key": self.key, "label": self.label, **dict(self.figures)}
        )


@dataclass(frozen=True, slots=True)
class FunnelResult:
    total: FunnelFigures
    groups: tuple[GroupFigures, ...] | None = None  # None when not grouped

    def to_json(self) -> JsonObject:
        """The total's figures; plus ``groups`` when the query was grouped."""
        body = self.total.to_json()
        if self.groups is not None:
            body["groups"] = [group.to_json() for group in self.groups]
        return body


# --------------------------------------------------------------------------- forecast reference


@dataclass(frozen=True, slots=True)
class ForecastReference:
    """Win rate and margin per contract that open applications are expected to realise.

    ``win_rate``/``margin`` are None when the prior is unset; with history and no won application
    ``margin`` is None but the rate is 0, so open applications add nothing.
    """

    source: ForecastSource
    win_rate: Decimal | None
    margin: Decimal | None


def forecast_reference(
    as_of: datetime, settings: EconomicsSettings, reference_applications: Iterable[ApplicationRow]
) -> ForecastReference:
    """History when enough reference applications closed; else the configured prior."""
    window_start = as_of - timedelta(days=settings.forecast.reference_days)
    reference = [a for a in reference_applications if window_start <= a.created_at < as_of]
    won = [a for a in reference if _signed_by(a, as_of)]
    lost = sum(1 for a in reference if not _signed_by(a, as_of) and _lost_by(a, as_of))
    closed = len(won) + lost
    if closed >= settings.forecast.min_closed_applications:
        margins = [_contract_margin(a, settings) for a in won]
        mean_margin = sum(margins, _ZERO) / len(margins) if margins else None
        return ForecastReference("history", Decimal(len(won)) / Decimal(closed), mean_margin)
    rate = settings.forecast.prior_win_rate
    margin = settings.forecast.prior_margin_per_contract
    if rate is None or margin is None:
        return ForecastReference("prior", None, None)
    return ForecastReference("prior", rate, margin)


def _expected_extra_margin(reference: ForecastReference, open_applications: int) -> Decimal | None:
    if reference.win_rate is None:
        return None
    if reference.win_rate == 0:
        return _ZERO  # no margin to average, and none needed
    if reference.margin is None:
        return None
    return open_applications * reference.win_rate * reference.margin


# --------------------------------------------------------------------------- per-lead rules


def _signed_by(application: ApplicationRow, as_of: datetime) -> bool:
    signed = application.contract_signed_at
    return signed is not None and signed <= as_of


def _lost_by(application: ApplicationRow, as_of: datetime) -> bool:
    closed = application.closed_at
    return application.status == APPLICATION_LOST and closed is not None and closed <= as_of


def _is_open_at(application: ApplicationRow, as_of: datetime) -> bool:
    # Current status is not what counts: an application lost after as_of was open at as_of.
    return not _signed_by(application, as_of) and not _lost_by(application, as_of)


def _contract_margin(application: ApplicationRow, settings: EconomicsSettings) -> Decimal:
    if application.contract_margin_minor is not None:
        return from_minor(application.contract_margin_minor)
    return _contract_amount(application) * settings.default_margin_rate


def _contract_amount(application: ApplicationRow) -> Decimal:
    if application.contract_amount_minor is None:
        raise ValueError(f"application {application.application_id} has no contract")
    return from_minor(application.contract_amount_minor)


def _earliest(moments: Iterable[datetime | None]) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return min(known) if known else None


def stage_times(
    lead: LeadRow, applications: Iterable[ApplicationRow], as_of: datetime
) -> tuple[datetime | None, ...]:
    """When the lead reached stages 1..5 by ``as_of`` (None: not reached).

    Monotonic: stage k is reached at the earliest evidence of any stage j ≥ k, so evidence of a
    later stage (an application entered by hand, say) also proves the earlier ones.
    """
    applications = list(applications)
    evidence = (
        *lead.evidence_at,
        _earliest(a.created_at for a in applications if a.created_at <= as_of),
        _earliest(a.contract_signed_at for a in applications if _signed_by(a, as_of)),
    )
    # Written out, not with _earliest per stage: this runs once per lead of the whole history.
    reached: list[datetime | None] = [None] * len(evidence)
    later: datetime | None = None
    for index in range(len(evidence) - 1, -1, -1):
        moment = evidence[index]
        if moment is not None and moment <= as_of and (later is None or moment < later):
            later = moment
        reached[index] = later
    return tuple(reached)


# --------------------------------------------------------------------------- ratios and intervals


def wilson_interval(successes: int, trials: int, z: float = WILSON_Z) -> tuple[float, float] | None:
    """Wilson score interval of ``successes`` out of ``trials``, clipped to [0, 1]."""
    if trials == 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"{successes} successes out of {trials} trials")
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half_width = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    # At 0 and at n the exact bound is 0 (or 1); floating point may miss it by an ulp.
    lower = 0.0 if successes == 0 else max(0.0, centre - half_width)
    upper = 1.0 if successes == trials else min(1.0, centre + half_width)
    return lower, upper


# --------------------------------------------------------------------------- the computation


@dataclass(frozen=True, slots=True)
class _Window:
    """What a figure counts: instants in ``[start, end)`` (open when None) and at most as_of."""

    start: datetime | None
    end: datetime | None
    as_of: datetime

    def holds(self, moment: datetime | None) -> bool:
        if moment is None or moment > self.as_of:
            return False
        if self.start is not None and moment < self.start:
            return False
        return self.end is None or moment < self.end


def _window(query: FunnelQuery) -> _Window:
    if query.mode == "cohort":
        # The cohort is chosen by first dial; after that, everything up to as_of counts.
        return _Window(None, None, query.as_of)
    return _Window(query.start, query.end, query.as_of)


@dataclass(frozen=True, slots=True)
class _Lead:
    """A selected lead with its applications and roll-up, computed once and shared by groups."""

    row: LeadRow
    applications: tuple[ApplicationRow, ...]
    reached_at: tuple[datetime | None, ...]  # stages 1..5, from stage_times


@dataclass(slots=True)
class _Tally:
    """The running sums of one funnel (the total or a group) as leads are folded in.

    Only counts and sums: memory follows the number of groups, never the number of leads.
    """

    leads: int = 0
    dialled_in_period: int = 0
    stage_counts: list[int] = field(default_factory=lambda: [0] * len(STAGE_NAMES))
    dials: int = 0
    talk_seconds: int = 0
    billable_minutes: int = 0
    labour_minor_seconds: int = 0
    applications: int = 0
    open_applications: int = 0
    contracts: int = 0
    revenue: Decimal = _ZERO
    margin: Decimal = _ZERO
    label: str | None = None

    def add(
        self, lead: _Lead, window: _Window, settings: EconomicsSettings, label: str | None = None
    ) -> None:
        row = lead.row
        self.label = self.label or label
        self.leads += row.leads
        self.dialled_in_period += row.leads * row.dialled_in_period
        for stage, moment in enumerate(lead.reached_at):
            self.stage_counts[stage] += row.leads * window.holds(moment)
        self.dials += row.dials
        self.talk_seconds += row.talk_seconds
        self.billable_minutes += row.billable_minutes
        self.labour_minor_seconds += row.labour_minor_seconds
        for application in lead.applications:
            if window.holds(application.created_at):
                self.applications += 1
                self.open_applications += _is_open_at(application, window.as_of)
            # A contract counts when signed in the window; its application must exist by as_of.
            if (
                window.holds(application.contract_signed_at)
                and application.created_at <= window.as_of
            ):
                with localcontext() as context:
                    context.prec = _PRECISION
                    self.contracts += 1
                    self.revenue += _contract_amount(application)
                    self.margin += _contract_margin(application, settings)


class FunnelFold:
    """``compute_funnel`` one lead at a time: ``add`` each ``LeadRow`` as it streams in, then
    ``result``. Rows must be one per lead (unchecked here); their order does not matter.

    ``applications`` must hold *all* applications (by as_of) of the leads that will be added —
    earlier ones decide when a stage was first reached; others are ignored.
    ``reference_applications``: applications of all cold leads created in
    ``[as_of − reference_days, as_of)`` (extra ones outside the window are ignored).
    """

    def __init__(
        self,
        query: FunnelQuery,
        settings: EconomicsSettings,
        applications: Iterable[ApplicationRow],
        reference_applications: Iterable[ApplicationRow],
    ) -> None:
        self._query = query
        self._settings = settings
        self._window = _window(query)
        by_lead: defaultdict[str, list[ApplicationRow]] = defaultdict(list)
        for application in applications:
            by_lead[application.lead_id].append(application)
        self._applications = {lead_id: tuple(rows) for lead_id, rows in by_lead.items()}
        with localcontext() as context:
            context.prec = _PRECISION
            self._reference = (
                forecast_reference(query.as_of, settings, reference_applications)
                if query.mode == "cohort"
                else None
            )
        self._total = _Tally()
        self._groups: dict[str | None, _Tally] = {}
        self._slices = (
            week_slices(query.start, query.end, query.zone) if query.group_by == "week" else ()
        )
        self._week_keys = {week.key for week in self._slices}

    def add(self, row: LeadRow) -> None:
        query = self._query
        if row.first_dial_at > query.as_of:
            return  # not a cold lead yet at as_of
        if query.mode == "cohort" and not query.start <= row.first_dial_at < query.end:
            return
        applications = self._applications.get(row.lead_id, ())
        lead = _Lead(row, applications, stage_times(row, applications, query.as_of))
        if query.mode == "activity" and not _contributes(lead, self._window):
            return
        self._total.add(lead, self._window, self._settings)
        if query.group_by is None:
            return
        if query.group_by != "week":
            self._group(row.group_key).add(lead, self._window, self._settings, row.group_label)
        elif query.mode == "cohort":
            self._group(week_key(row.first_dial_at, query.zone)).add(
                lead, self._window, self._settings
            )
        else:
            self._add_to_weeks(lead)

    def _group(self, key: str | None) -> _Tally:
        tally = self._groups.get(key)
        if tally is None:
            tally = self._groups[key] = _Tally()
        return tally

    def _add_to_weeks(self, lead: _Lead) -> None:
        """Each week slice is an activity period of its own, over the lead's sums for that slice.

        A lead goes only into the slices it has sums or evidence in: elsewhere it adds nothing.
        """
        row = lead.row
        _check_week_sums(row, self._week_keys)
        moments = [
            *lead.reached_at,
            *(a.created_at for a in lead.applications),
            *(a.contract_signed_at for a in lead.applications),
        ]
        touched = {week.week for week in row.weeks} | {
            week_key(moment, self._query.zone)
            for moment in moments
            if self._window.holds(moment) and moment is not None
        }
        for week in self._slices:
            if week.key in touched:
                window = _Window(week.start, week.end, self._query.as_of)
                view = replace(lead, row=_week_view(row, week.key))
                self._group(week.key).add(view, window, self._settings)

    def result(self) -> FunnelResult:
        query, settings, reference = self._query, self._settings, self._reference
        with localcontext() as context:
            context.prec = _PRECISION
            total = _figures(query, settings, self._total, reference)
            if query.group_by is None:
                return FunnelResult(total)
            if query.group_by == "week":
                # Every week of the period is listed, empty ones too, so that a chart has no gaps.
                keys: list[str | None] = [week.key for week in self._slices]
                labels: dict[str | None, str | None] = {w.key: w.label for w in self._slices}
            else:
                # Named groups in key order, the group without a key (no campaign, no script) last.
                keys = sorted(self._groups, key=lambda key: (key is None, key or ""))
                labels = {key: self._groups[key].label for key in keys}
            groups = tuple(
                GroupFigures(
                    key,
                    labels[key],
                    _figures(query, settings, self._groups.get(key) or _Tally(), reference),
                )
                for key in keys
            )
        return FunnelResult(total, groups)


def compute_funnel(
    query: FunnelQuery,
    settings: EconomicsSettings,
    leads: Iterable[LeadRow],
    applications: Sequence[ApplicationRow],
    reference_applications: Sequence[ApplicationRow],
) -> FunnelResult:
    """The funnel of ``query`` (see the module's docstring and docs/metrics.md).

    ``leads`` may be any superset of the relevant cold leads: the cohort is chosen here by first
    dial, and in activity mode leads that contribute nothing to the period are dropped. The
    arguments are those of ``FunnelFold``.
    """
    fold = FunnelFold(query, settings, applications, reference_applications)
    seen: set[str] = set()
    for row in leads:
        # Two rows of one lead would count it twice in every figure: a bug upstream, not data.
        # (The service's fold skips this memory of every lead: its rows are one per lead by the
        # GROUP BY of the raw pass or the primary key of the kept table.)
        if row.lead_id in seen:
            raise ValueError(f"lead {row.lead_id} has more than one LeadRow")
        seen.add(row.lead_id)
        fold.add(row)
    return fold.result()


def _contributes(lead: _Lead, window: _Window) -> bool:
    row = lead.row
    return (
        row.dialled_in_period
        or any((row.dials, row.talk_seconds, row.billable_minutes, row.labour_minor_seconds))
        or any(window.holds(moment) for moment in lead.reached_at)
        or any(window.holds(a.created_at) for a in lead.applications)
        or any(window.holds(a.contract_signed_at) for a in lead.applications)
    )


def _figures(
    query: FunnelQuery,
    settings: EconomicsSettings,
    tally: _Tally,
    reference: ForecastReference | None,
) -> FunnelFigures:
    leads_dialed = tally.leads if query.mode == "cohort" else tally.dialled_in_period
    counts = tuple(tally.stage_counts)
    roll_up = _roll_up(settings, tally, leads_dialed, counts, reference)
    return FunnelFigures(
        dials=roll_up.dials,
        leads_dialed=roll_up.leads_dialed,
        talk_seconds=roll_up.talk_seconds,
        stages=_stage_figures(leads_dialed, counts, with_interval=query.mode == "cohort"),
        economics=_economics(roll_up),
    )


def _stage_figures(
    leads_dialed: int, counts: Sequence[int], *, with_interval: bool
) -> list[StageFigure]:
    figures = []
    previous = leads_dialed
    for stage, count in zip(STAGES, counts, strict=True):
        figures.append(
            StageFigure(
                stage=stage.number,
                name=stage.key,
                count=count,
                conversion=ratio(count, previous),
                conversion_ci95=wilson_interval(count, previous) if with_interval else None,
                cumulative=ratio(count, leads_dialed),
            )
        )
        previous = count
    return figures


def call_cost(
    settings: EconomicsSettings, billable_minutes: int, labour_minor_seconds: int
) -> Decimal:
    """Telephony for the billed outbound minutes plus labour for the busy seconds."""
    telephony = settings.telephony_cost_per_minute * billable_minutes
    labour = Decimal(labour_minor_seconds) / (_SECONDS_PER_HOUR * MINOR_UNITS)
    return telephony + labour


def _roll_up(
    settings: EconomicsSettings,
    tally: _Tally,
    leads_dialed: int,
    stage_counts: tuple[int, ...],
    reference: ForecastReference | None,
) -> RollUp:
    """The sums every figure of ``app/metrics/figures.py`` is a formula over."""
    forecast = None
    if reference is not None:
        extra = _expected_extra_margin(reference, tally.open_applications)
        forecast = ForecastRollUp(
            source=reference.source,
            open_applications=tally.open_applications,
            win_rate=reference.win_rate,
            margin=reference.margin,
            expected_margin=None if extra is None else tally.margin + extra,
        )
    return RollUp(
        dials=tally.dials,
        leads_dialed=leads_dialed,
        talk_seconds=tally.talk_seconds,
        stage_counts=stage_counts,
        cost=call_cost(settings, tally.billable_minutes, tally.labour_minor_seconds),
        applications=tally.applications,
        contracts=tally.contracts,
        revenue=tally.revenue,
        margin=tally.margin,
        forecast=forecast,
    )


def _economics(roll_up: RollUp) -> Economics:
    """Every economics and forecast figure is its formula in the figures table."""
    forecast = None
    if roll_up.forecast is not None:
        forecast = ForecastFigures.model_validate(
            {"source": roll_up.forecast.source, **compute(FORECAST_FIGURES, roll_up)}
        )
    return Economics.model_validate({**compute(ECONOMICS_FIGURES, roll_up), "forecast": forecast})


# --------------------------------------------------------------------------- week grouping


def _week_view(row: LeadRow, key: str) -> LeadRow:
    sums = next((week for week in row.weeks if week.week == key), None)
    if sums is None:
        return replace(
            row,
            dialled_in_period=False,
            dials=0,
            talk_seconds=0,
            billable_minutes=0,
            labour_minor_seconds=0,
            weeks=(),
        )
    return replace(
        row,
        dialled_in_period=sums.dialled,
        dials=sums.dials,
        talk_seconds=sums.talk_seconds,
        billable_minutes=sums.billable_minutes,
        labour_minor_seconds=sums.labour_minor_seconds,
        weeks=(),
    )


def _check_week_sums(row: LeadRow, keys: set[str]) -> None:
    """Refuse rows whose week sums do not add up: a missing ``weeks`` would silently empty weeks."""
    unknown = {week.week for week in row.weeks} - keys
    totals = (
        any(week.dialled for week in row.weeks),
        sum(week.dials for week in row.weeks),
        sum(week.talk_seconds for week in row.weeks),
        sum(week.billable_minutes for week in row.weeks),
        sum(week.labour_minor_seconds for week in row.weeks),
    )
    expected = (
        row.dialled_in_period,
        row.dials,
        row.talk_seconds,
        row.billable_minutes,
        row.labour_minor_seconds,
    )
    if unknown or totals != expected:
        raise ValueError(
            f"lead {row.lead_id}: activity week grouping needs LeadRow.weeks over the slices of "
            "week_slices(), adding up to the lead's sums"
        )
