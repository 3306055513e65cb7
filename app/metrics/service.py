"""The funnel and call statistics: SQL counts, pure Python computes, the service joins them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Principal
from app.errors import Unprocessable
from app.metrics import queries
from app.metrics.figures import CALL_FIGURES, CallRollUp, compute
from app.metrics.funnel import (
    FunnelFold,
    FunnelQuery,
    FunnelResult,
    GroupBy,
    LeadRow,
    Mode,
    WeekSums,
    week_slices,
)
from app.metrics.schemas import CallPeriod, CallStats, CallStatsResponse, FunnelResponse, Period
from app.periods import query_instant
from app.settings.schemas import EconomicsSettings
from app.telemetry.instruments import FUNNEL_QUERY_SECONDS, observe_seconds

MAX_WEEKLY_ACTIVITY_DAYS = 366
CallGrouping = Literal["employee", "day", "hour", "weekday", "weekday_hour"]
FunnelSource = Literal["kept", "raw"]
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class FunnelParams:
    start: str | None
    end: str | None
    mode: Mode
    as_of: str | None
    group_by: GroupBy | None
    employee_id: str | None
    campaign: str | None


@dataclass(frozen=True, slots=True)
class FunnelAnswer:
    period: Period
    result: FunnelResult


def _unprocessable(name: str, message: str) -> Unprocessable:
    return Unprocessable.at("query", name, msg=message)


def resolve_period(
    start: str | None, end: str | None, zone: ZoneInfo, now: datetime
) -> tuple[datetime, datetime]:
    """``from``/``to`` as instants; neither given means the last complete local ISO week."""
    if start is None and end is None:
        today = now.astimezone(zone).date()
        monday = today - timedelta(days=today.weekday() + 7)
        return _midnight(monday, zone), _midnight(monday + timedelta(days=7), zone)
    if start is None or end is None:
        raise _unprocessable("from" if start is None else "to", "give both from and to, or neither")
    begin, finish = query_instant("from", start, zone), query_instant("to", end, zone)
    if finish <= begin:
        raise _unprocessable("to", "to must be after from")
    return begin, finish


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


class MetricsService:
    async def funnel(
        self,
        session: AsyncSession,
        params: FunnelParams,
        principal: Principal,
        settings: EconomicsSettings,
        *,
        now: datetime,
        source: FunnelSource = "kept",
    ) -> FunnelResponse:
        answer = await self.funnel_result(
            session, params, principal, settings, now=now, source=source
        )
        groups = answer.result.groups
        return FunnelResponse(
            period=answer.period,
            currency=settings.currency,
            total=answer.result.total,
            groups=None if groups is None else [group.to_response() for group in groups],
        )

    async def funnel_result(
        self,
        session: AsyncSession,
        params: FunnelParams,
        principal: Principal,
        settings: EconomicsSettings,
        *,
        now: datetime,
        source: FunnelSource = "kept",
    ) -> FunnelAnswer:
        """The funnel with its figures unrounded, for callers that build on them (reports)."""
        (answer,) = await self.funnel_results(
            session, [params], principal, settings, now=now, source=source
        )
        return answer

    @observe_seconds(FUNNEL_QUERY_SECONDS)
    async def funnel_results(
        self,
        session: AsyncSession,
        funnels: Sequence[FunnelParams],
        principal: Principal,
        settings: EconomicsSettings,
        *,
        now: datetime,
        source: FunnelSource = "kept",
    ) -> list[FunnelAnswer]:
        """``funnel_result`` of funnels of one mode and ``as_of``.

        ``source`` says where the per-lead facts come from: ``kept``, the ``lead_evidence`` rows
        (docs/metrics.md → Kept evidence), or ``raw``, one evidence pass over the calls. Both
        give the same funnels; the raw path is what the kept one is checked against.
        """
        assert settings.timezone is not None
        zone = ZoneInfo(settings.timezone)
        funnel_queries = [self._query(params, zone, now) for params in funnels]
        if len({(query.mode, query.as_of) for query in funnel_queries}) > 1:
            raise ValueError("funnels computed together need one mode and one as_of")
        # A key that may not read hourly costs sees every call costed at the standard rate.
        standard_rate = not principal.scope.reads_costs
        raw_facts = (
            await queries.lead_facts_of(
                session, funnel_queries, settings, standard_rate=standard_rate
            )
            if source == "raw"
            else None
        )
        as_of = funnel_queries[0].as_of
        applications = await queries.application_rows(session, as_of)
        since = as_of - timedelta(days=settings.forecast.reference_days)
        # The forecast's reference is every cold lead's, whatever the filter or grouping.
        reference = [a for a in applications if since <= a.created_at < as_of]
        answers = []
        for n, (params, query) in enumerate(zip(funnels, funnel_queries, strict=True)):
            # Leads are selected by whom they belong to (the grouping rule): the scope's, then the
            # employee asked for (a manager's scope is already its own).
            scope = principal.scope
            employee = scope.requested_employee(params.employee_id)
            weeks = await self._weeks(session, query, settings, standard_rate=standard_rate)
            # Rows are folded as they arrive: memory follows the groups, not the leads.
            fold = FunnelFold(query, settings, applications, reference)
            async for fact in self._facts(
                session, query, settings, raw_facts, n, standard_rate=standard_rate
            ):
                if (
                    scope.admits(fact.belongs_to)
                    and (employee is None or fact.belongs_to == employee)
                    and (params.campaign is None or fact.campaign == params.campaign)
                ):
                    fold.add(self._row(fact, query.group_by, weeks.get(fact.lead_id, ())))
            period = Period(
                from_=query.start,
                to=query.end,
                timezone=settings.timezone,
                mode=params.mode,
                as_of=as_of,
            )
            answers.append(FunnelAnswer(period, fold.result()))
        return answers

    async def _facts(
        self,
        session: AsyncSession,
        query: FunnelQuery,
        settings: EconomicsSettings,
        raw_facts: list[list[queries.LeadFacts]] | None,
        n: int,
        *,
        standard_rate: bool,
    ) -> AsyncIterator[queries.LeadFacts]:
        if raw_facts is not None:
            for fact in raw_facts[n]:
                yield fact
            return
        async for fact in queries.kept_lead_facts(
            session, query, settings, standard_rate=standard_rate
        ):
            yield fact

    def _query(self, params: FunnelParams, zone: ZoneInfo, now: datetime) -> FunnelQuery:
        start, end = resolve_period(params.start, params.end, zone, now)
        as_of = query_instant("as_of", params.as_of, zone) if params.as_of else now
        if (
            params.mode == "activity"
            and params.group_by == "week"
            and end - start > timedelta(days=MAX_WEEKLY_ACTIVITY_DAYS)
        ):
            raise _unprocessable(
                "group_by", f"weekly activity covers at most {MAX_WEEKLY_ACTIVITY_DAYS} days"
            )
        return FunnelQuery(params.mode, start, end, as_of, zone, params.group_by)

    async def _weeks(
        self,
        session: AsyncSession,
        query: FunnelQuery,
        settings: EconomicsSettings,
        *,
        standard_rate: bool = False,
    ) -> dict[str, tuple[WeekSums, ...]]:
        if query.mode != "activity" or query.group_by != "week":
            return {}
        slices = week_slices(query.start, query.end, query.zone)
        by_lead: defaultdict[str, list[WeekSums]] = defaultdict(list)
        for lead_id, *sums in await queries.week_sums(
            session, query, settings, slices, standard_rate=standard_rate
        ):
            by_lead[lead_id].append(WeekSums(*sums))  # type: ignore[arg-type]
        return {lead_id: tuple(weeks) for lead_id, weeks in by_lead.items()}

    def _row(
        self, fact: queries.LeadFacts, group_by: GroupBy | None, weeks: tuple[WeekSums, ...]
    ) -> LeadRow:
        key, label = {
            "employee": (fact.belongs_to, fact.belongs_to_name),
            "campaign": (fact.campaign, fact.campaign),
            "script": (fact.script_id, fact.script_name),
        }.get(group_by or "", (None, None))
        return LeadRow(
            lead_id=fact.lead_id,
            group_key=key,
            group_label=label,
            first_dial_at=fact.first_dial_at,
            evidence_at=(fact.reached_at, fact.conversation_at, fact.second_call_at),
            dialled_in_period=fact.dialled_in_period,
            dials=fact.dials,
            talk_seconds=fact.talk_seconds,
            billable_minutes=fact.billable_minutes,
            labour_minor_seconds=fact.labour_minor_seconds,
            weeks=weeks,
            leads=fact.leads,
        )

    async def call_stats(
        self,
        session: AsyncSession,
        *,
        start: str | None,
        end: str | None,
        group_by: CallGrouping | None,
        principal: Principal,
        zone: ZoneInfo,
        now: datetime,
    ) -> CallStatsResponse:
        """Answer rate, talk time and missed inbound calls, per group and in total."""
        begin, finish = resolve_period(start, end, zone, now)
        rows = await queries.call_counts(
            session,
            begin,
            finish,
            by_employee=group_by == "employee",
            by_time=group_by in ("day", "hour", "weekday", "weekday_hour"),
            scope=principal.scope,
        )
        groups: dict[str | None, list[queries.CallCounts]] = defaultdict(list)
        labels: dict[str | None, str | None] = {}
        for row in rows:
            key, label = _call_group(row, group_by, zone)
            groups[key].append(row)
            labels[key] = label
        # Hours and weekdays ("1-09": Monday 09:00) sort by their zero-padded keys, days as ISO
        # dates, employees by id.
        ordered = sorted(groups, key=lambda key: (key is None, key or ""))
        return CallStatsResponse(
            period=CallPeriod(from_=begin, to=finish, timezone=zone.key),
            total=_call_stats(rows),
            groups=None
            if group_by is None
            else [_call_stats(groups[key], key=key, label=labels[key]) for key in ordered],
        )


def _call_group(
    row: queries.CallCounts, group_by: CallGrouping | None, zone: ZoneInfo
) -> tuple[str | None, str | None]:
    if group_by == "employee":
        return row.employee_id, row.employee_name
    if group_by is None or row.bucket is None:
        return None, None
    local = datetime.fromtimestamp(row.bucket * queries.BUCKET_SECONDS, UTC).astimezone(zone)
    if group_by == "day":
        return local.date().isoformat(), local.strftime("%a %d %b")
    if group_by == "hour":
        return f"{local.hour:02d}", f"{local.hour:02d}:00"
    weekday = _WEEKDAYS[local.weekday()]
    if group_by == "weekday_hour":
        return f"{local.isoweekday()}-{local.hour:02d}", f"{weekday} {local.hour:02d}:00"
    return str(local.isoweekday()), weekday


def _call_stats(
    rows: list[queries.CallCounts], *, key: str | None = None, label: str | None = None
) -> CallStats:
    sums = CallRollUp.total(row.sums for row in rows)
    return CallStats.model_validate({"key": key, "label": label, **compute(CALL_FIGURES, sums)})


metrics_service = MetricsService()
