"""Checklists, evaluations of calls, the evaluation queue and the script-quality figures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import ColumnElement

from app.auth.dependencies import CurrentPrincipal, WriterPrincipal
from app.calls.models import Call
from app.db import SessionDep, utcnow
from app.errors import NotFound
from app.metrics.service import resolve_period
from app.pagination import Page, PageDep, decode_cursor, encode_cursor, paginate
from app.periods import query_instant
from app.quality.figures import QualityGroupBy
from app.quality.models import Evaluation
from app.quality.repository import checklist_repository, evaluation_repository
from app.quality.schemas import (
    ChecklistCreate,
    ChecklistPublic,
    ChecklistUpdate,
    EvaluationPublic,
    EvaluationPut,
    QueueItem,
    QueuePage,
    ScriptQualityResponse,
)
from app.quality.service import (
    checklist_service,
    evaluation_service,
    queue_period,
    script_quality_service,
)
from app.quality.views import figures_response
from app.settings.dependencies import EconomicsDep, ReportingZoneDep

router = APIRouter(tags=["script quality"])


@router.get("/checklists")
async def list_checklists(
    session: SessionDep, page: PageDep, _principal: CurrentPrincipal
) -> Page[ChecklistPublic]:
    """The newest version of each checklist (``GET /checklists/{id}/versions`` lists them all)."""
    rows = await checklist_repository.latest_of_families(
        session, limit=page.limit + 1, after_id=page.after_id
    )
    shown = await checklist_service.public(session, rows[: page.limit])
    by_id = {checklist.id: checklist for checklist in shown}
    return paginate(rows, page, to_item=lambda row: by_id[row.id], key=lambda row: [row.family_id])


@router.post("/checklists", status_code=status.HTTP_201_CREATED)
async def create_checklist(
    body: ChecklistCreate, session: SessionDep, _writer: WriterPrincipal
) -> ChecklistPublic:
    checklist = await checklist_service.create(session, body)
    (shown,) = await checklist_service.public(session, [checklist])
    return shown


@router.get("/checklists/{checklist_id}")
async def get_checklist(
    checklist_id: str, session: SessionDep, _principal: CurrentPrincipal
) -> ChecklistPublic:
    (shown,) = await checklist_service.public(
        session, [await checklist_service.get(session, checklist_id)]
    )
    return shown


@router.patch("/checklists/{checklist_id}")
async def edit_checklist(
    checklist_id: str, body: ChecklistUpdate, session: SessionDep, _writer: WriterPrincipal
) -> ChecklistPublic:
    """Edit a version: in place while no evaluation uses it (and it is the newest), else as a
    new version — the answer's ``id`` and ``version`` say which happened."""
    checklist = await checklist_service.edit(session, checklist_id, body)
    (shown,) = await checklist_service.public(session, [checklist])
    return shown


@router.get("/checklists/{checklist_id}/versions")
async def list_versions(
    checklist_id: str, session: SessionDep, _principal: CurrentPrincipal
) -> list[ChecklistPublic]:
    checklist = await checklist_service.get(session, checklist_id)
    versions = await checklist_repository.versions_of(session, checklist.family_id)
    return await checklist_service.public(session, versions)


@router.post("/checklists/{checklist_id}/versions", status_code=status.HTTP_201_CREATED)
async def create_version(
    checklist_id: str, body: ChecklistUpdate, session: SessionDep, _writer: WriterPrincipal
) -> ChecklistPublic:
    """A new version (newest + 1) from this one with the changes given; evaluations of the
    older versions keep them, and their scores."""
    checklist = await checklist_service.new_version(session, checklist_id, body)
    (shown,) = await checklist_service.public(session, [checklist])
    return shown


@router.put("/calls/{call_id}/evaluations/{checklist_id}")
async def put_evaluation(
    call_id: str,
    checklist_id: str,
    body: EvaluationPut,
    session: SessionDep,
    economics: EconomicsDep,
    writer: WriterPrincipal,
) -> EvaluationPublic:
    """Score the call against that checklist version (admin, head); a second PUT by the same
    evaluator revises it."""
    return await evaluation_service.put(
        session, call_id, checklist_id, body, writer, economics.quality.bands
    )


@router.get("/calls/{call_id}/evaluations")
async def call_evaluations(
    call_id: str, session: SessionDep, economics: EconomicsDep, principal: CurrentPrincipal
) -> list[EvaluationPublic]:
    return await evaluation_service.of_call(session, call_id, principal, economics.quality.bands)


@router.get("/evaluations")
async def list_evaluations(
    session: SessionDep,
    page: PageDep,
    economics: EconomicsDep,
    zone: ReportingZoneDep,
    principal: CurrentPrincipal,
    call_id: str | None = None,
    employee_id: Annotated[str | None, Query(description="The call's employee.")] = None,
    checklist_id: Annotated[str | None, Query(description="Exactly this version.")] = None,
    family_id: Annotated[str | None, Query(description="Any version of the family.")] = None,
    evaluator: str | None = None,
    source: str | None = None,
    from_: Annotated[
        str | None, Query(alias="from", description="Call start: local date or timestamp.")
    ] = None,
    to: Annotated[str | None, Query(description="Exclusive.")] = None,
) -> Page[EvaluationPublic]:
    filters: list[ColumnElement[bool]] = []
    for column, wanted in (
        (Evaluation.call_id, call_id),
        (Evaluation.checklist_id, checklist_id),
        (Evaluation.family_id, family_id),
        (Evaluation.evaluator, evaluator),
        (Evaluation.source, source),
    ):
        if wanted is not None:
            filters.append(column == wanted)
    wanted_employee = principal.scope.requested_employee(employee_id)
    if wanted_employee is not None:
        filters.append(Call.employee_id == wanted_employee)
    if from_ is not None:
        filters.append(Call.started_at >= query_instant("from", from_, zone))
    if to is not None:
        filters.append(Call.started_at < query_instant("to", to, zone))
    rows = await evaluation_repository.list(
        session,
        principal.scope,
        filters=filters,
        join_call=wanted_employee is not None or from_ is not None or to is not None,
        limit=page.limit + 1,
        before=page.after_moment(),
    )
    shown = await evaluation_service.public(session, rows[: page.limit], economics.quality.bands)
    by_id = {evaluation.id: evaluation for evaluation in shown}
    return paginate(
        rows,
        page,
        to_item=lambda row: by_id[row.id],
        key=lambda row: [row.updated_at.isoformat(), row.id],
    )


@router.get("/evaluations/queue")
async def evaluation_queue(
    session: SessionDep,
    economics: EconomicsDep,
    zone: ReportingZoneDep,
    principal: CurrentPrincipal,
    employee_id: str | None = None,
    checklist_id: Annotated[
        str | None, Query(description="Default: the default checklist.")
    ] = None,
    from_: Annotated[
        str | None, Query(alias="from", description="Default: the last four weeks and this one.")
    ] = None,
    to: Annotated[str | None, Query(description="Exclusive; default now.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> QueuePage:
    """Calls worth scoring (answered, talk ≥ ``conversation_s``) and not yet scored: a few per
    manager and week (``quality.queue_per_manager_week``), chosen by a hash of the call id so the
    list is stable. A manager's key sees its own calls' places."""
    start, end = queue_period(from_, to, zone, utcnow())
    queued = await script_quality_service.queue(
        session,
        start=start,
        end=end,
        checklist_id=checklist_id,
        employee_id=employee_id,
        principal=principal,
        settings=economics,
    )
    if cursor is not None:
        after = tuple(str(part) for part in decode_cursor(cursor))
        queued = [item for item in queued if item.sort_key > after]
    page = queued[:limit]
    return QueuePage(
        items=[
            QueueItem(
                id=item.candidate.call_id,
                call_id=item.candidate.call_id,
                week=item.week,
                employee_id=item.candidate.employee_id,
                employee_name=item.candidate.employee_name,
                lead_id=item.candidate.lead_id,
                direction=item.candidate.direction,
                started_at=item.candidate.started_at,
                talk_seconds=item.candidate.talk_seconds,
                script_id=item.candidate.script_id,
                script_kind=item.candidate.script_kind,
                has_recording=item.candidate.has_recording,
            )
            for item in page
        ],
        next_cursor=encode_cursor(page[-1].sort_key) if len(queued) > limit else None,
    )


@router.get("/evaluations/{evaluation_id}")
async def get_evaluation(
    evaluation_id: str, session: SessionDep, economics: EconomicsDep, principal: CurrentPrincipal
) -> EvaluationPublic:
    evaluation = await evaluation_repository.get_readable(session, evaluation_id, principal.scope)
    if evaluation is None:
        raise NotFound(f"evaluation {evaluation_id} not found")
    (shown,) = await evaluation_service.public(session, [evaluation], economics.quality.bands)
    return shown


@router.get("/metrics/script-quality")
async def script_quality(
    session: SessionDep,
    economics: EconomicsDep,
    zone: ReportingZoneDep,
    principal: CurrentPrincipal,
    from_: Annotated[
        str | None, Query(alias="from", description="Local date or timestamp (call start).")
    ] = None,
    to: Annotated[str | None, Query(description="Exclusive. Neither: the last full week.")] = None,
    checklist_id: Annotated[
        str | None, Query(description="Any version of the family; default: the default checklist.")
    ] = None,
    group_by: QualityGroupBy | None = None,
    as_of: Annotated[str | None, Query(description="Funnel stages by then; default now.")] = None,
) -> ScriptQualityResponse:
    """Scores, bands and pass rates of the evaluated calls that started in the period, and the
    stage-3 and stage-4 rates per band and per criterion passed or failed
    (docs/script_quality.md)."""
    now = utcnow()
    start, end = resolve_period(from_, to, zone, now)
    moment = query_instant("as_of", as_of, zone) if as_of is not None else now
    answer = await script_quality_service.figures(
        session,
        start=start,
        end=end,
        as_of=moment,
        checklist_id=checklist_id,
        group_by=group_by,
        principal=principal,
        settings=economics,
    )
    return figures_response(
        answer, start=start, end=end, as_of=moment, zone=zone, group_by=group_by
    )
