"""The SQL half of the funnel: stage evidence classified per docs/metrics.md, one row per lead.

The database does the counting (the rules are written as SQL expressions below, mirroring
``tests/metrics/reference.py``); ``app.metrics.funnel`` does the rest in Python. Nothing here holds
one Python object per call. Time zones never enter SQL: period bounds arrive as UTC instants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Subquery,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from app.auth.scope import Scope
from app.calls.events import CallStatus, Direction
from app.calls.models import Call
from app.calls.outcomes import Outcome
from app.calls.repository import readable_calls
from app.dialect import dialect_of, epoch_seconds
from app.employees.models import Employee
from app.leads.models import Application, Contract, Lead, Script
from app.leads.repository import lead_belongs_to
from app.metrics.figures import CallRollUp
from app.metrics.funnel import ApplicationRow, FunnelQuery, WeekSlice
from app.money import to_minor
from app.settings.schemas import EconomicsSettings

NOT_REACHED = (Outcome.NO_ANSWER, Outcome.VOICEMAIL, Outcome.WRONG_NUMBER)
NEGATIVE = (*NOT_REACHED, Outcome.SECRETARY)
STAGE2_TAGS = (Outcome.PRESENTED, Outcome.NEED_IDENTIFIED, Outcome.APPLICATION)
STAGE2_IF_LONG = (Outcome.REFUSED, Outcome.CALLBACK_REQUESTED)
STAGE3_TAGS = (Outcome.NEED_IDENTIFIED, Outcome.APPLICATION)


def _values(outcomes: Sequence[Outcome]) -> list[str]:
    return [outcome.value for outcome in outcomes]


def _outcome_not_in(outcomes: Sequence[Outcome]) -> ColumnElement[bool]:
    # NOT IN is unknown for a NULL outcome; "no outcome" is never one of the listed tags.
    return or_(Call.outcome.is_(None), Call.outcome.not_in(_values(outcomes)))


@dataclass(frozen=True, slots=True)
class LeadFacts:
    """One row of the evidence query, before the service shapes it into a ``LeadRow``."""

    lead_id: str
    first_dial_at: datetime
    reached_at: datetime | None
    conversation_at: datetime | None
    second_call_at: datetime | None
    dialled_in_period: bool
    dials: int
    talk_seconds: int
    billable_minutes: int
    labour_minor_seconds: int
    belongs_to: str | None  # owner, else the first dialler (docs/metrics.md → Grouping)
    belongs_to_name: str | None
    campaign: str | None
    script_id: str | None  # of the first reached call
    script_name: str | None


LeadSelection = Sequence[str] | Select[Any] | None


def known_calls(
    settings: EconomicsSettings,
    as_of: datetime,
    lead_ids: LeadSelection = None,
    *,
    standard_rate: bool = False,
) -> Select[tuple[object, ...]]:
    """Calls that take part (a lead, not internal, a known start) by ``as_of``, with their flags.

    ``standard_rate`` costs every call's labour at ``labor_cost_per_hour``, whoever made it: for
    keys that may not read hourly costs (managers), whose leads hold colleagues' calls too. With
    each caller's own rate, a colleague's rate would follow from the funnel's ``cost`` and the
    call's readable durations.
    """
    thresholds = settings.thresholds
    talk = func.coalesce(Call.talk_seconds, 0)
    duration = func.coalesce(Call.duration_seconds, 0)
    answered = Call.status == CallStatus.ANSWERED
    outbound = Call.direction == Direction.OUTBOUND
    reached = and_(answered, talk >= thresholds.reached_s, _outcome_not_in(NOT_REACHED))
    stage2 = or_(
        Call.outcome.in_(_values(STAGE2_TAGS)),
        and_(
            or_(Call.outcome.is_(None), Call.outcome.in_(_values(STAGE2_IF_LONG))),
            reached,
            talk >= thresholds.conversation_s,
        ),
    )
    default_rate = to_minor(settings.labor_cost_per_hour)
    statement = (
        select(
            Call.id,
            Call.lead_id,
            Call.employee_id,
            Call.started_at,
            Call.outcome,
            Call.script_id,
            outbound.label("outbound"),
            talk.label("talk"),
            duration.label("duration"),
            case((reached, 1), else_=0).label("reached"),
            case((stage2, 1), else_=0).label("stage2"),
            # What a call costs, as integers (docs/metrics.md → Money): billable minutes are
            # ceil(talk / 60) of outbound calls; labour is rate × (duration + wrap-up if answered)
            # in minor-unit-seconds.
            case((outbound, (talk + 59) // 60), else_=0).label("billable_minutes"),
            (
                (
                    literal(default_rate, BigInteger)
                    if standard_rate
                    else func.coalesce(Employee.hourly_cost, default_rate)
                )
                * (duration + case((answered, settings.wrapup_seconds), else_=0))
            ).label("labour"),
        )
        .outerjoin(Employee, Employee.id == Call.employee_id)
        .where(
            Call.lead_id.is_not(None),
            Call.direction != Direction.INTERNAL,
            Call.started_at.is_not(None),
            Call.started_at <= as_of,
        )
    )
    if lead_ids is not None:
        statement = statement.where(Call.lead_id.in_(lead_ids))
    return statement


def _evidence(
    settings: EconomicsSettings,
    as_of: datetime,
    *,
    lead_ids: LeadSelection = None,
    periods: Sequence[tuple[datetime, datetime]] = (),
    scope_is_period: bool = False,
    standard_rate: bool = False,
) -> Subquery:
    """One row per lead with calls: the earliest evidence of stages 1–3, the first dial, and per
    period ``n`` of ``periods`` whether the lead was dialled in it (``dialled_n``) and the integer
    sums costs need over the in-scope calls (all, or those in the period): ``dials_n``,
    ``talk_seconds_n``, ``billable_minutes_n``, ``labour_n``.

    One pass: window functions carry each lead's first conversation, first dialler and first
    reached call to every call of the lead, then one GROUP BY reduces. (Joining per-lead subqueries
    of a CTE back to it made PostgreSQL guess one row per side and nest loops: minutes at 100k.)
    """
    calls = known_calls(settings, as_of, lead_ids, standard_rate=standard_rate).subquery("known")
    thresholds = settings.thresholds

    def first(value: ColumnElement[Any], flag: ColumnElement[bool]) -> ColumnElement[Any]:
        """``value`` on the lead's earliest call meeting ``flag`` (the first row, if any does)."""
        # Constants, not bound parameters: PostgreSQL plans these sorts far better when it can
        # see the ORDER BY key (measured: 1.5 s → 0.8 s at 100k calls).
        order = (
            case((flag, literal_column("0")), else_=literal_column("1")),
            calls.c.started_at,
            calls.c.id,
        )
        return func.first_value(value).over(partition_by=calls.c.lead_id, order_by=order)

    is_stage2 = calls.c.stage2 == 1
    is_reached = calls.c.reached == 1
    windowed = select(
        calls,
        first(calls.c.id, is_stage2).label("conversation_id"),
        first(calls.c.stage2, is_stage2).label("has_conversation"),
        first(epoch_seconds(calls.c.started_at) + calls.c.duration, is_stage2).label(
            "conversation_end"
        ),
        first(calls.c.employee_id, calls.c.outbound).label("first_dialler"),
        first(calls.c.script_id, is_reached).label("first_reached_script"),
        first(calls.c.reached, is_reached).label("has_reached"),
    ).subquery("windowed")
    w = windowed.c
    second_call = or_(
        w.outcome.in_(_values(STAGE3_TAGS)),
        and_(
            w.has_conversation == 1,
            w.id != w.conversation_id,
            # "at least the gap after the first conversation *ended*" (start + duration)
            epoch_seconds(w.started_at)
            >= w.conversation_end + thresholds.second_call_gap_minutes * 60,
            or_(w.outcome.is_(None), w.outcome.not_in(_values(NEGATIVE))),
            w.reached == 1,
            w.talk >= thresholds.second_call_s,
        ),
    )
    sums: list[ColumnElement[Any]] = []
    for n, (start, end) in enumerate(periods):
        in_period = and_(w.started_at >= start, w.started_at < end)
        in_scope = in_period if scope_is_period else true()
        sums += [
            func.max(case((and_(w.outbound, in_period), 1), else_=0)).label(f"dialled_{n}"),
            func.sum(case((and_(w.outbound, in_scope), 1), else_=0)).label(f"dials_{n}"),
            func.sum(case((in_scope, w.talk), else_=0)).label(f"talk_seconds_{n}"),
            # ceil(talk / 60) in integer arithmetic, the same on both databases.
            func.sum(case((in_scope, w.billable_minutes), else_=0)).label(f"billable_minutes_{n}"),
            func.sum(case((in_scope, w.labour), else_=0)).label(f"labour_{n}"),
        ]
    return (
        select(
            w.lead_id,
            func.min(case((w.outbound, w.started_at))).label("first_dial_at"),
            func.min(case((w.reached == 1, w.started_at))).label("reached_at"),
            func.min(case((w.stage2 == 1, w.started_at))).label("conversation_at"),
            func.min(case((second_call, w.started_at))).label("second_call_at"),
            func.max(w.first_dialler).label("first_dialler"),
            func.max(case((w.has_reached == 1, w.first_reached_script))).label("script_id"),
            *sums,
        )
        .group_by(w.lead_id)
        .subquery("evidence")
    )


async def _without_jit(session: AsyncSession) -> None:
    """Turn PostgreSQL's JIT off for the rest of the transaction.

    Compiling the evidence pass's hundred-odd CASE expressions took the JIT 3 s for a week of 50k
    calls whose execution took 0.5 s; the pass reads too few rows for compiled code to pay back.
    """
    if dialect_of(session) == "postgresql":
        await session.execute(text("SET LOCAL jit = off"))


async def lead_facts(
    session: AsyncSession, query: FunnelQuery, settings: EconomicsSettings
) -> list[LeadFacts]:
    """One row per cold lead the query may need (``compute_funnel`` picks the exact set)."""
    (facts,) = await lead_facts_of(session, [query], settings)
    return facts


async def lead_facts_of(
    session: AsyncSession,
    funnel_queries: Sequence[FunnelQuery],
    settings: EconomicsSettings,
    *,
    standard_rate: bool = False,
) -> list[list[LeadFacts]]:
    """``lead_facts`` of several queries in one evidence pass, which sorts every call it reads.

    Evidence depends only on ``as_of``, so activity queries sharing it share the pass over the
    leads of all their periods; each query still gets only the leads of its own.
    """
    query, *others = funnel_queries
    if any(other.mode != query.mode or other.as_of != query.as_of for other in others):
        raise ValueError("queries sharing an evidence pass need one mode and one as_of")
    if query.mode == "cohort" and others:
        raise ValueError("cohort queries do not share an evidence pass")
    await _without_jit(session)
    evidence = _evidence(
        settings,
        query.as_of,
        # Only the leads the queries are about: the evidence pass sorts every call it reads.
        lead_ids=_cohort(query) if query.mode == "cohort" else _active_leads(funnel_queries),
        periods=[(q.start, q.end) for q in funnel_queries],
        scope_is_period=query.mode == "activity",
        standard_rate=standard_rate,
    )
    e = evidence.c
    # Which query's leads each row is, when there are several: another period's lead would
    # contribute nothing to this one, yet cost a row to build and to compute over.
    members = [
        e.lead_id.in_(_active_leads([q])).label(f"member_{n}")
        for n, q in enumerate(funnel_queries if others else ())
    ]
    owner = lead_belongs_to(e.first_dialler)
    statement = (
        select(
            evidence,
            *members,
            owner.label("belongs_to"),
            Employee.name.label("belongs_to_name"),
            Lead.campaign,
            Script.name.label("script_name"),
        )
        .join(Lead, Lead.id == e.lead_id)
        .outerjoin(Employee, Employee.id == owner)
        .outerjoin(Script, Script.id == e.script_id)
        # Cold leads only; the evidence pass already kept just the cohort or the active leads.
        .where(e.first_dial_at.is_not(None))
    )
    rows = (await session.execute(statement)).mappings().all()
    return [
        [
            LeadFacts(
                lead_id=row["lead_id"],
                first_dial_at=row["first_dial_at"],
                reached_at=row["reached_at"],
                conversation_at=row["conversation_at"],
                second_call_at=row["second_call_at"],
                dialled_in_period=bool(row[f"dialled_{n}"]),
                dials=int(row[f"dials_{n}"]),
                talk_seconds=int(row[f"talk_seconds_{n}"]),
                billable_minutes=int(row[f"billable_minutes_{n}"]),
                labour_minor_seconds=int(row[f"labour_{n}"]),
                belongs_to=row["belongs_to"],
                belongs_to_name=row["belongs_to_name"],
                campaign=row["campaign"],
                script_id=row["script_id"],
                script_name=row["script_name"],
            )
            for row in rows
            if not members or row[f"member_{n}"]
        ]
        for n in range(len(funnel_queries))
    ]


def lead_stage_query(
    settings: EconomicsSettings, as_of: datetime, lead_ids: LeadSelection = None
) -> Subquery:
    """(lead_id, stage) for the leads with any evidence by ``as_of``: 1–5, the highest reached.

    ``lead_ids`` limits the work to those leads (a page of the leads list, or a subquery: the
    leads of the scored calls in ``app.quality``).
    """
    e = _evidence(settings, as_of, lead_ids=lead_ids).c
    of_leads = [] if lead_ids is None else [Application.lead_id.in_(lead_ids)]
    applied = (
        select(Application.lead_id)
        .where(Application.created_at <= as_of, *of_leads)
        .group_by(Application.lead_id)
    ).subquery("applied")
    signed = (
        select(Application.lead_id)
        .join(Contract, Contract.application_id == Application.id)
        .where(Contract.signed_at <= as_of, *of_leads)
        .group_by(Application.lead_id)
    ).subquery("signed")
    from_calls = (
        select(
            e.lead_id,
            case(
                (e.second_call_at.is_not(None), 3),
                (e.conversation_at.is_not(None), 2),
                (e.reached_at.is_not(None), 1),
                else_=0,
            ).label("stage"),
        )
        .where(e.reached_at.is_not(None) | e.conversation_at.is_not(None))
        .subquery("from_calls")
    )
    evidenced = union(
        select(from_calls.c.lead_id), select(applied.c.lead_id), select(signed.c.lead_id)
    ).subquery("evidenced")
    stage = case(
        (signed.c.lead_id.is_not(None), 5),
        (applied.c.lead_id.is_not(None), 4),
        else_=func.coalesce(from_calls.c.stage, 0),
    )
    return (
        select(evidenced.c.lead_id, stage.label("stage"))
        .select_from(evidenced)
        .outerjoin(from_calls, from_calls.c.lead_id == evidenced.c.lead_id)
        .outerjoin(applied, applied.c.lead_id == evidenced.c.lead_id)
        .outerjoin(signed, signed.c.lead_id == evidenced.c.lead_id)
        .subquery("lead_stage")
    )


def _cohort(query: FunnelQuery) -> Select[Any]:
    """Leads whose first outbound call (by as_of) started in the period."""
    return (
        select(Call.lead_id)
        .where(
            Call.direction == Direction.OUTBOUND,
            Call.lead_id.is_not(None),
            Call.started_at <= query.as_of,
        )
        .group_by(Call.lead_id)
        .having(func.min(Call.started_at) >= query.start, func.min(Call.started_at) < query.end)
    )


def _active_leads(funnel_queries: Sequence[FunnelQuery]) -> Select[Any]:
    """Leads with a call, an application or a contract in a query's period (by its as_of)."""
    parts = [
        part
        for query in funnel_queries
        for part in (
            select(Call.lead_id).where(
                Call.lead_id.is_not(None),
                Call.started_at >= query.start,
                Call.started_at < query.end,
                Call.started_at <= query.as_of,
            ),
            *_sales_in(query),
        )
    ]
    # One flat UNION: SQLite refuses a compound SELECT nested in another.
    return select(union(*parts).subquery().c.lead_id)


def _sales_in(query: FunnelQuery) -> tuple[Select[Any], Select[Any]]:
    """Leads with an application created, and with a contract signed, in the period (by as_of)."""
    end = min(query.end, query.as_of + timedelta(microseconds=1))
    created = select(Application.lead_id).where(
        Application.created_at >= query.start, Application.created_at < end
    )
    signed = (
        select(Application.lead_id)
        .join(Contract, Contract.application_id == Application.id)
        .where(Contract.signed_at >= query.start, Contract.signed_at < end)
    )
    return created, signed


async def week_sums(
    session: AsyncSession,
    query: FunnelQuery,
    settings: EconomicsSettings,
    slices: Sequence[WeekSlice],
    *,
    standard_rate: bool = False,
) -> list[tuple[str, str, bool, int, int, int, int]]:
    """(lead, week key, dialled, dials, talk, billable minutes, labour) per lead and week slice."""
    await _without_jit(session)
    calls = known_calls(settings, query.as_of, standard_rate=standard_rate).cte("known")
    week = case(
        *((and_(calls.c.started_at >= s.start, calls.c.started_at < s.end), s.key) for s in slices),
        else_=None,
    ).label("week")
    bucketed = (
        select(
            calls.c.lead_id,
            week,
            func.max(case((calls.c.outbound, 1), else_=0)),
            func.sum(case((calls.c.outbound, 1), else_=0)),
            func.sum(calls.c.talk),
            func.sum(calls.c.billable_minutes),
            func.sum(calls.c.labour),
        )
        .where(calls.c.started_at >= query.start, calls.c.started_at < query.end)
        .group_by(calls.c.lead_id, week)
    )
    return [
        (row[0], row[1], bool(row[2]), int(row[3]), int(row[4]), int(row[5]), int(row[6]))
        for row in await session.execute(bucketed)
        if row[1] is not None
    ]


async def application_rows(session: AsyncSession, as_of: datetime) -> list[ApplicationRow]:
    """Applications of cold leads created by ``as_of``, each with its contract, if any."""
    # EXISTS, not IN: a probe of the (lead_id, started_at) index per application instead of
    # grouping every outbound call by lead.
    cold = exists().where(
        Call.lead_id == Application.lead_id,
        Call.direction == Direction.OUTBOUND,
        Call.started_at <= as_of,
    )
    statement = (
        select(Application, Contract)
        .outerjoin(Contract, Contract.application_id == Application.id)
        .where(cold, Application.created_at <= as_of)
    )
    return [
        ApplicationRow(
            application_id=application.id,
            lead_id=application.lead_id,
            created_at=application.created_at,
            status=application.status,
            closed_at=application.closed_at,
            contract_signed_at=contract.signed_at if contract else None,
            contract_amount_minor=contract.amount if contract else None,
            contract_margin_minor=contract.margin if contract else None,
        )
        for application, contract in (await session.execute(statement)).all()
    ]


# Quarter hours: every time zone's offset is a whole number of them, so local hours and days
# can be told in Python from UTC buckets.
BUCKET_SECONDS = 900


@dataclass(frozen=True, slots=True)
class CallCounts:
    bucket: int | None  # epoch // BUCKET_SECONDS, when bucketed by time
    employee_id: str | None
    employee_name: str | None
    sums: CallRollUp  # what the call figures are computed from


async def call_counts(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    by_employee: bool,
    by_time: bool,
    scope: Scope,
) -> list[CallCounts]:
    """Calls ``scope`` may read started in ``[start, end)``, per employee and/or quarter hour."""
    answered = Call.status == CallStatus.ANSWERED
    inbound = Call.direction == Direction.INBOUND
    keys: list[ColumnElement[Any] | QueryableAttribute[Any]] = []
    if by_time:
        keys.append((epoch_seconds(Call.started_at) // BUCKET_SECONDS).label("bucket"))
    if by_employee:
        keys += [Call.employee_id, Employee.name]
    statement = (
        select(
            *keys,
            func.count(),
            func.sum(case((Call.direction == Direction.OUTBOUND, 1), else_=0)),
            func.sum(case((inbound, 1), else_=0)),
            func.sum(case((answered, 1), else_=0)),
            func.sum(func.coalesce(Call.talk_seconds, 0)),
            func.sum(case((and_(inbound, ~answered), 1), else_=0)),
        )
        .outerjoin(Employee, Employee.id == Call.employee_id)
        .where(Call.started_at >= start, Call.started_at < end)
    )
    readable = readable_calls(scope)
    if readable is not None:
        statement = statement.where(readable)
    if keys:
        statement = statement.group_by(*keys)
    rows = []
    for row in await session.execute(statement):
        values = list(row)
        bucket = int(values.pop(0)) if by_time else None
        employee, name = (values.pop(0), values.pop(0)) if by_employee else (None, None)
        # In CallRollUp's order: calls, outbound, inbound, answered, talk, missed inbound.
        sums = CallRollUp(*(int(value or 0) for value in values))
        rows.append(CallCounts(bucket, employee, name, sums))
    return rows
