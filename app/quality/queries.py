"""The SQL of the script-quality figures and of the evaluation queue.

The database selects and joins; ``app.quality.figures`` does the arithmetic. The figures read one
row per evaluation of the period (a reviewer scores a few calls per manager a week: thousands a
month, never the million calls), and the funnel stage of those calls' leads comes from the
funnel's own evidence pass (``app.metrics.queries.lead_stage_query``) limited to those leads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scope import Scope
from app.calls.events import CallStatus, Direction
from app.calls.models import Call
from app.employees.models import Employee
from app.leads.models import Script
from app.metrics.queries import lead_stage_query, without_jit
from app.quality.figures import CallRow, EvaluationRow
from app.quality.models import Evaluation
from app.quality.queue import Candidate
from app.quality.repository import readable_evaluated_calls
from app.recordings.models import Recording
from app.settings.schemas import EconomicsSettings


def _period(start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [Call.started_at >= start, Call.started_at < end]


def _scope(scope: Scope) -> list[ColumnElement[bool]]:
    clause = readable_evaluated_calls(scope)
    return [] if clause is None else [clause]


async def evaluated(
    session: AsyncSession,
    *,
    family_id: str,
    start: datetime,
    end: datetime,
    scope: Scope,
    settings: EconomicsSettings,
    as_of: datetime,
) -> tuple[list[CallRow], list[EvaluationRow]]:
    """The calls started in ``[start, end)`` that have an evaluation of the family, with their
    evaluations and their lead's highest stage by ``as_of``."""
    # PostgreSQL's JIT compiles the evidence pass's many expressions for a few thousand leads'
    # calls, which costs more than it saves.
    await without_jit(session)
    in_period = [Evaluation.family_id == family_id, *_period(start, end), *_scope(scope)]
    statement = (
        select(
            Evaluation.call_id,
            Evaluation.checklist_id,
            Evaluation.answers,
            Call.started_at,
            Call.employee_id,
            Employee.name,
            Call.script_id,
            Script.name,
            Script.kind,
            Call.lead_id,
        )
        .join(Call, Call.id == Evaluation.call_id)
        .outerjoin(Employee, Employee.id == Call.employee_id)
        .outerjoin(Script, Script.id == Call.script_id)
        .where(*in_period)
    )
    rows = (await session.execute(statement)).all()
    stages = await lead_stages(session, sorted({row[9] for row in rows if row[9]}), as_of)
    calls: dict[str, CallRow] = {}
    evaluations = []
    for call_id, checklist_id, answers, *call in rows:
        evaluations.append(EvaluationRow(call_id, checklist_id, dict(answers or {})))
        if call_id not in calls:
            started, employee, name, script, script_name, kind, lead = call
            calls[call_id] = CallRow(
                call_id=call_id,
                started_at=started,
                employee_id=employee,
                employee_name=name,
                script_id=script,
                script_name=script_name,
                script_kind=kind,
                lead_id=lead,
                lead_stage=stages.get(lead, 0) if lead is not None else 0,
            )
    return list(calls.values()), evaluations


async def queue_candidates(
    session: AsyncSession,
    *,
    family_id: str,
    start: datetime,
    end: datetime,
    scope: Scope,
    employee_id: str | None,
    min_talk_seconds: int,
) -> list[Candidate]:
    """Calls of the period worth scoring (answered, a real conversation, an employee's, not
    internal), each saying whether the family already scored it."""
    scored = exists().where(Evaluation.call_id == Call.id, Evaluation.family_id == family_id)
    recorded = exists().where(Recording.call_id == Call.id, Recording.status == "stored")
    filters: list[ColumnElement[bool]] = [
        *_period(start, end),
        *_scope(scope),
        Call.employee_id.is_not(None),
        Call.started_at.is_not(None),
        Call.status == CallStatus.ANSWERED.value,
        func.coalesce(Call.talk_seconds, 0) >= min_talk_seconds,
        func.coalesce(Call.direction, "") != Direction.INTERNAL.value,
    ]
    if employee_id is not None:
        filters.append(Call.employee_id == employee_id)
    statement = (
        select(
            Call.id,
            Call.employee_id,
            Employee.name,
            Call.started_at,
            Call.talk_seconds,
            Call.lead_id,
            Call.direction,
            Call.script_id,
            Script.kind,
            recorded.label("recorded"),
            scored.label("scored"),
        )
        .outerjoin(Employee, Employee.id == Call.employee_id)
        .outerjoin(Script, Script.id == Call.script_id)
        .where(*filters)
    )
    # The WHERE clause makes employee_id and started_at known; the ``or ""`` and ``assert`` say so.
    return [
        Candidate(
            call_id=row[0],
            employee_id=row[1] or "",
            employee_name=row[2],
            started_at=_known(row[3]),
            talk_seconds=int(row[4] or 0),
            lead_id=row[5],
            direction=row[6],
            script_id=row[7],
            script_kind=row[8],
            has_recording=bool(row[9]),
            scored=bool(row[10]),
        )
        for row in await session.execute(statement)
    ]


async def scored_calls(
    session: AsyncSession,
    *,
    family_id: str,
    start: datetime,
    end: datetime,
    scope: Scope,
    employee_id: str | None,
) -> Sequence[tuple[str, str, datetime]]:
    """(call, employee, start) of every call of the period the family scored, however short:
    each uses up one of its manager's places in the week's queue."""
    filters: list[Any] = [
        *_period(start, end),
        *_scope(scope),
        Call.employee_id.is_not(None),
        exists().where(Evaluation.call_id == Call.id, Evaluation.family_id == family_id),
    ]
    if employee_id is not None:
        filters.append(Call.employee_id == employee_id)
    statement = select(Call.id, Call.employee_id, Call.started_at).where(*filters)
    return [(row[0], row[1] or "", _known(row[2])) for row in await session.execute(statement)]


def _known(moment: datetime | None) -> datetime:
    assert moment is not None  # selected with started_at in a period
    return moment


# Leads per evidence pass: a list of ids binds one parameter each (asyncpg takes at most 32,767),
# and the stage of a lead depends on its own calls only, so passes over slices add up.
LEADS_PER_PASS = 2_000


async def lead_stages(
    session: AsyncSession, lead_ids: Sequence[str], as_of: datetime
) -> dict[str, int]:
    """The highest funnel stage each lead reached by ``as_of`` (absent: none).

    The ids are listed rather than given as a subquery of the scored calls: the evidence pass
    reads that subquery more than once, and each time it scanned the month's calls again
    (measured at 200 k calls: 0.50 s → see docs/benchmarks.md).
    """
    stages: dict[str, int] = {}
    for begin in range(0, len(lead_ids), LEADS_PER_PASS):
        staged = lead_stage_query(as_of, lead_ids[begin : begin + LEADS_PER_PASS])
        query = select(staged.c.lead_id, staged.c.stage)
        stages.update({lead: int(stage) for lead, stage in await session.execute(query)})
    return stages
