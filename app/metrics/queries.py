"""The SQL half of the funnel: stage evidence classified per docs/metrics.md, one row per lead.

The database does the counting (the rules are written as SQL expressions below, mirroring
``tests/metrics/reference.py``); ``app.metrics.funnel`` does the rest in Python. Nothing here holds
one Python object per call. Time zones never enter SQL: period bounds arrive as UTC instants.

Two paths give the same rows: the raw one (``lead_facts_of``: one evidence pass over the calls)
and the kept one (``kept_lead_facts``: the ``lead_evidence`` rows that pass wrote, read by as_of;
docs/metrics.md → Kept evidence).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    RowMapping,
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
from app.dialect import dialect_of, epoch_seconds, table_of
from app.employees.models import Employee
from app.leads.models import Application, Contract, Lead, Script
from app.leads.repository import lead_belongs_to
from app.metrics.figures import CallRollUp
from app.metrics.funnel import ApplicationRow, FunnelQuery, WeekSlice, week_slices
from app.metrics.models import LeadEvidence
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
    leads: int = 1  # more: a class of indistinguishable leads, summed (``LeadRow.leads``)


# A list of ids, a statement that selects them, an expanding bind parameter (a statement built
# once and executed for many leads), or None for every lead.
LeadSelection = Sequence[str] | Select[Any] | BindParameter[Any] | None


def known_calls(
    settings: EconomicsSettings,
    as_of: datetime | None,
    lead_ids: LeadSelection = None,
    *,
    standard_rate: bool = False,
) -> Select[tuple[object, ...]]:
    """Calls that take part (a lead, not internal, a known start) by ``as_of`` (None: all of
    them, as the kept evidence counts them), with their flags.

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
    busy = duration + case((answered, settings.wrapup_seconds), else_=0)
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
            busy.label("busy"),
            (
                (
                    literal(default_rate, BigInteger)
                    if standard_rate
                    else func.coalesce(Employee.hourly_cost, default_rate)
                )
                * busy
            ).label("labour"),
        )
        .outerjoin(Employee, Employee.id == Call.employee_id)
        .where(
            Call.lead_id.is_not(None),
            Call.direction != Direction.INTERNAL,
            Call.started_at.is_not(None),
        )
    )
    if as_of is not None:
        statement = statement.where(Call.started_at <= as_of)
    if lead_ids is not None:
        statement = statement.where(Call.lead_id.in_(lead_ids))
    return statement


def _evidence(
    settings: EconomicsSettings,
    as_of: datetime | None,
    *,
    lead_ids: LeadSelection = None,
    periods: Sequence[tuple[datetime, datetime] | None] = (),
    scope_is_period: bool = False,
    standard_rate: bool = False,
) -> Subquery:
    """One row per lead with calls: the earliest evidence of stages 1–3, the first dial, and per
    period ``n`` of ``periods`` (None: unbounded) whether the lead was dialled in it
    (``dialled_n``) and the integer sums costs need over the in-scope calls (all, or those in
    the period): ``dials_n``, ``talk_seconds_n``, ``billable_minutes_n``, ``labour_n``,
    ``busy_n``; and the latest call counted (``last_call_at``).

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
    for n, period in enumerate(periods):
        in_period = (
            true() if period is None else and_(w.started_at >= period[0], w.started_at < period[1])
        )
        in_scope = in_period if scope_is_period else true()
        sums += [
            func.max(case((and_(w.outbound, in_period), 1), else_=0)).label(f"dialled_{n}"),
            func.sum(case((and_(w.outbound, in_scope), 1), else_=0)).label(f"dials_{n}"),
            func.sum(case((in_scope, w.talk), else_=0)).label(f"talk_seconds_{n}"),
            # ceil(talk / 60) in integer arithmetic, the same on both databases.
            func.sum(case((in_scope, w.billable_minutes), else_=0)).label(f"billable_minutes_{n}"),
            func.sum(case((in_scope, w.labour), else_=0)).label(f"labour_{n}"),
            func.sum(case((in_scope, w.busy), else_=0)).label(f"busy_{n}"),
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
            func.max(w.started_at).label("last_call_at"),
            *sums,
        )
        .group_by(w.lead_id)
        .subquery("evidence")
    )


def kept_evidence(settings: EconomicsSettings, lead_ids: LeadSelection) -> Select[Any]:
    """The ``lead_evidence`` rows of ``lead_ids`` (None: every lead), columns named as the table's.

    The raw evidence pass over every call of the leads: no ``as_of`` (the reader compares the
    instants with its own) and the sums over all calls, with each caller's own rate.
    """
    e = _evidence(settings, None, lead_ids=lead_ids, periods=[None]).c
    return select(
        e.lead_id,
        e.first_dial_at,
        e.reached_at,
        e.conversation_at,
        e.second_call_at,
        e.last_call_at,
        e.first_dialler,
        e.script_id,
        e.dials_0.label("dials"),
        e.talk_seconds_0.label("talk_seconds"),
        e.billable_minutes_0.label("billable_minutes"),
        e.labour_0.label("labour"),
        e.busy_0.label("busy_seconds"),
    )


async def without_jit(session: AsyncSession) -> None:
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
    await without_jit(session)
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
        [_facts(row, n) for row in rows if not members or row[f"member_{n}"]]
        for n in range(len(funnel_queries))
    ]


def _facts(row: RowMapping, n: int = 0) -> LeadFacts:
    """A row of the raw pass (``n``: which of its queries' sums) or of the kept one."""
    return LeadFacts(
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
        leads=row.get("leads", 1),
    )


# Rows fetched per round trip from the server-side cursor of the kept path.
_STREAM_ROWS = 2000


async def kept_lead_facts(
    session: AsyncSession,
    query: FunnelQuery,
    settings: EconomicsSettings,
    *,
    standard_rate: bool = False,
) -> AsyncIterator[LeadFacts]:
    """``lead_facts`` read from ``lead_evidence``, streamed: one kept row per lead of the cohort
    or the period, never the leads' call histories (docs/metrics.md → Kept evidence).

    Exact at any ``as_of``: evidence times are instants, compared with it here. The kept sums
    count every call of a lead, so they answer only when the lead's last call is by ``as_of``;
    a cohort lead called after it is summed from its calls by ``as_of``, and activity sums,
    being those of the period, always come from the period's calls (an index range).
    """
    await without_jit(session)
    # Kept sums answer only an as_of at or after each lead's last call; when no lead has a
    # later one (as_of is now, as a rule), no lead needs the calls (an index's last entry says).
    latest = await session.scalar(select(func.max(table_of(LeadEvidence).c.last_call_at)))
    statement = _kept_statement(
        query,
        settings,
        standard_rate=standard_rate,
        stale=latest is not None and latest > query.as_of,
    )
    statements = [_with_names(statement)]
    if query.mode == "cohort":
        # A cohort's leads without applications differ, for every figure, only in their group,
        # the stages they reached by as_of and their sums: SQL counts them by class, Python gets
        # a row per class (hundreds, not 200k). Leads with applications come one by one.
        applied = exists().where(Application.lead_id == table_of(LeadEvidence).c.lead_id)
        statements = [
            _with_names(statement.where(applied)),
            _with_names(_lead_classes(statement.where(~applied), query)),
        ]
    for one in statements:
        result = await session.stream(one.execution_options(yield_per=_STREAM_ROWS))
        # By partition: each step of the async result is a greenlet switch, too dear per row.
        async for rows in result.mappings().partitions():
            for row in rows:
                yield _facts(row)


def _lead_classes(kept: Select[Any], query: FunnelQuery) -> Select[Any]:
    """``kept`` rows (of a cohort: every time by as_of) counted per class of leads alike.

    The class's instants are those of one of its leads: in a cohort only whether each is by
    as_of counts, and the first dial's week (grouped by, when the funnel is).
    """
    k = kept.subquery("kept")
    keys: list[ColumnElement[Any]] = [
        k.c.belongs_to,
        k.c.campaign,
        k.c.script_id,
        *(k.c[name].is_(None) for name in ("reached_at", "conversation_at", "second_call_at")),
    ]
    if query.group_by == "week":
        # The week slices' bounds, computed in Python as time zones must be.
        slices = week_slices(query.start, query.end, query.zone)
        first_dial = k.c.first_dial_at
        keys.append(
            case(*((and_(first_dial >= s.start, first_dial < s.end), s.key) for s in slices))
        )
    return select(
        func.min(k.c.lead_id).label("lead_id"),
        func.min(k.c.first_dial_at).label("first_dial_at"),
        *(
            func.min(k.c[name]).label(name)
            for name in ("reached_at", "conversation_at", "second_call_at")
        ),
        literal(1).label("dialled_0"),
        *(
            func.sum(k.c[f"{name}_0"]).label(f"{name}_0")
            for name in ("dials", "talk_seconds", "billable_minutes", "labour")
        ),
        k.c.belongs_to,
        k.c.campaign,
        k.c.script_id,
        func.count().label("leads"),
    ).group_by(*keys)


def _kept_statement(
    query: FunnelQuery, settings: EconomicsSettings, *, standard_rate: bool, stale: bool
) -> Select[Any]:
    """The kept rows of the query's leads, their instants by as_of and their sums in scope;
    ``stale``: some lead may have calls after as_of (cohort sums then come from its calls)."""
    e = table_of(LeadEvidence).c
    as_of = query.as_of
    if query.mode == "cohort":
        chosen = (e.first_dial_at >= query.start, e.first_dial_at < query.end)
        kept_labour = (
            literal(to_minor(settings.labor_cost_per_hour), BigInteger) * e.busy_seconds
            if standard_rate
            else e.labour
        )
        kept = {
            "dials": e.dials,
            "talk_seconds": e.talk_seconds,
            "billable_minutes": e.billable_minutes,
            "labour": kept_labour,
        }
        leads: Any = table_of(LeadEvidence)
        if stale:
            later = select(e.lead_id).where(*chosen, e.last_call_at > as_of)
            by_as_of = _call_sums(known_calls(settings, as_of, later, standard_rate=standard_rate))
            fresh = e.last_call_at <= as_of
            kept = {
                name: case((fresh, value), else_=func.coalesce(by_as_of.c[name], 0))
                for name, value in kept.items()
            }
            leads = leads.outerjoin(by_as_of, by_as_of.c.lead_id == e.lead_id)
        # A cohort lead was dialled in the period by definition.
        sums = [
            literal(1).label("dialled_0"),
            *(value.label(f"{name}_0") for name, value in kept.items()),
        ]
        where = [*chosen, e.first_dial_at <= as_of]
    else:
        calls = known_calls(settings, as_of, standard_rate=standard_rate)
        in_period = _call_sums(
            calls.where(Call.started_at >= query.start, Call.started_at < query.end)
        )
        active = union(select(in_period.c.lead_id), *_sales_in(query)).subquery("active")
        sums = [
            func.coalesce(getattr(in_period.c, name), 0).label(f"{name}_0")
            for name in ("dialled", "dials", "talk_seconds", "billable_minutes", "labour")
        ]
        leads = (
            table_of(LeadEvidence)
            .join(active, active.c.lead_id == e.lead_id)
            .outerjoin(in_period, in_period.c.lead_id == e.lead_id)
        )
        where = [e.first_dial_at <= as_of]

    def by_as_of_only(moment: ColumnElement[Any]) -> ColumnElement[Any]:
        return case((moment <= as_of, moment))

    # The first dialler is the one by as_of, since the first dial is; the first reached call's
    # script only when that call is.
    script_id = case((e.reached_at <= as_of, e.script_id))
    return (
        select(
            e.lead_id,
            e.first_dial_at,
            by_as_of_only(e.reached_at).label("reached_at"),
            by_as_of_only(e.conversation_at).label("conversation_at"),
            by_as_of_only(e.second_call_at).label("second_call_at"),
            *sums,
            lead_belongs_to(e.first_dialler).label("belongs_to"),
            Lead.campaign,
            script_id.label("script_id"),
        )
        .select_from(leads)
        .join(Lead, Lead.id == e.lead_id)
        .where(*where)
    )


def _with_names(rows: Select[Any]) -> Select[Any]:
    """``rows`` with the names of their employee and script: joined last, so that a class of
    leads looks them up once, not once per lead."""
    k = rows.subquery("named")
    return (
        select(
            k,
            Employee.name.label("belongs_to_name"),
            Script.name.label("script_name"),
        )
        .outerjoin(Employee, Employee.id == k.c.belongs_to)
        .outerjoin(Script, Script.id == k.c.script_id)
    )


def _call_sums(calls: Select[Any]) -> Subquery:
    """Per lead of ``calls`` (``known_calls``): dialled, and the sums costs need."""
    known = calls.subquery("known")
    return (
        select(
            known.c.lead_id,
            func.max(case((known.c.outbound, 1), else_=0)).label("dialled"),
            func.sum(case((known.c.outbound, 1), else_=0)).label("dials"),
            func.sum(known.c.talk).label("talk_seconds"),
            func.sum(known.c.billable_minutes).label("billable_minutes"),
            func.sum(known.c.labour).label("labour"),
        )
        .group_by(known.c.lead_id)
        .subquery("sums")
    )


# The kept rows a lead's stage is read from, under a name of their own: a statement that joins
# them may also hold lead_evidence in a subquery (``app.leads.repository.readable_leads``), which
# the join must not correlate with.
_STAGE_EVIDENCE = table_of(LeadEvidence).alias("stage_evidence")
_Row = TypeVarTuple("_Row")


@dataclass(frozen=True, slots=True)
class LeadStage:
    """A lead's funnel stage by an instant, as SQL (``lead_stage``): ``value`` reads the kept
    row that ``join`` adds to a statement reading ``Lead``."""

    value: ColumnElement[int]

    def join(self, statement: Select[*_Row]) -> Select[*_Row]:
        return statement.outerjoin(_STAGE_EVIDENCE, _STAGE_EVIDENCE.c.lead_id == Lead.id)


def lead_stage(as_of: datetime) -> LeadStage:
    """The funnel stage by ``as_of``: 5 a contract signed, 4 an application created, else the
    highest of stages 3–1 whose kept evidence is by then, else 0 (docs/metrics.md → Evidence of
    each stage; monotonic).

    One kept row per lead, not its calls (docs/metrics.md → Kept evidence: the instants are
    compared with ``as_of`` here). The applications and contracts are read as they are, as
    uncorrelated IN lists: each database builds them once per statement, not once per lead.
    """
    e = _STAGE_EVIDENCE.c
    signed = (
        select(Application.lead_id)
        .join(Contract, Contract.application_id == Application.id)
        .where(Contract.signed_at <= as_of)
    )
    applied = select(Application.lead_id).where(Application.created_at <= as_of)
    return LeadStage(
        case(
            (Lead.id.in_(signed), 5),
            (Lead.id.in_(applied), 4),
            (e.second_call_at <= as_of, 3),
            (e.conversation_at <= as_of, 2),
            (e.reached_at <= as_of, 1),
            else_=0,
        )
    )


def lead_stage_query(as_of: datetime, lead_ids: Sequence[str] | Select[Any]) -> Subquery:
    """(lead_id, stage) for those of ``lead_ids`` with any evidence by ``as_of``: 1–5, the
    highest reached (``lead_stage``)."""
    stage = lead_stage(as_of)
    return (
        stage.join(select(Lead.id.label("lead_id"), stage.value.label("stage")))
        .where(Lead.id.in_(lead_ids), stage.value > 0)
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
    await without_jit(session)
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
