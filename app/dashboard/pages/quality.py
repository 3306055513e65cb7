"""Script quality: scores per manager and script, the criteria and which of them matter, the
queue of calls to score, and the page that scores one call while it plays.

The figures are ``GET /api/v1/metrics/script-quality`` grouped by employee and by script, shaped
as the weekly report's section; the queue is ``GET /api/v1/evaluations/queue``; the scoring form
is ``PUT /api/v1/calls/{id}/evaluations/{checklist_id}``.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.roles import Role
from app.calls.schemas import CallPublic
from app.calls.service import call_service
from app.dashboard.auth import PagePrincipal, WriterPagePrincipal
from app.dashboard.clock import local_time
from app.dashboard.i18n import lang_of
from app.dashboard.rendering import render
from app.dashboard.routing import page_router
from app.db import SessionDep, utcnow
from app.errors import Unprocessable
from app.metrics.service import resolve_period
from app.periods import query_instant
from app.quality import views as quality_views
from app.quality.models import Checklist
from app.quality.repository import checklist_repository
from app.quality.schemas import CriterionOutcomePublic, EvaluationPut
from app.quality.scoring import Answer
from app.quality.service import (
    checklist_service,
    evaluation_service,
    queue_period,
    script_quality_service,
)
from app.reports import charts
from app.reports.i18n import Formatter
from app.settings.dependencies import EconomicsDep, ReportingZoneDep

router = page_router()

QUEUE_SHOWN = 30
CHART_LABEL_CHARS = 19  # what the bar chart's label column holds at 13px (Cyrillic is wide)
ANSWER_FIELD = "answer-"
"""Form fields ``answer-<criterion key>``: one radio group per criterion."""


@router.get("/quality")
async def quality_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    economics: EconomicsDep,
    zone: ReportingZoneDep,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
    as_of: str | None = None,
    checklist_id: str | None = None,
) -> Response:
    now = utcnow()
    start, end = resolve_period(from_, to, zone, now)
    moment = query_instant("as_of", as_of, zone) if as_of is not None else now
    by_employee, by_script = await script_quality_service.figures_by(
        session,
        start=start,
        end=end,
        as_of=moment,
        checklist_id=checklist_id,
        groupings=("employee", "script"),
        principal=principal,
        settings=economics,
    )
    section = quality_views.report_section(by_employee, by_script)
    # The queue from the figures' first day to now (the API's default, five weeks, costs ~1 s at
    # 1 M calls: docs/benchmarks.md), so the last week's and this week's calls are offered.
    queue_start, queue_end = queue_period(start.isoformat(), None, zone, now)
    queued = await script_quality_service.queue(
        session,
        start=queue_start,
        end=queue_end,
        checklist_id=checklist_id,
        employee_id=None,
        principal=principal,
        settings=economics,
    )
    fmt = Formatter(lang_of(request), economics.currency)
    return render(
        request,
        "quality.html",
        currency=economics.currency,
        section=section,
        period=(start, end),
        queue=queued[:QUEUE_SHOWN],
        queue_total=len(queued),
        matter=_which_matter(section.outcomes.criteria, fmt),
        query=request.query_params,
        local=partial(local_time, zone=zone, lang=fmt.lang),
    )


def _which_matter(criteria: list[CriterionOutcomePublic], fmt: Formatter) -> Markup | None:
    """The stage-4 rate of passed minus failed calls per criterion, as diverging bars."""
    known = [c for c in criteria if c.difference is not None]
    if not known:
        return None
    bars = [
        (
            _short((c.label_ru or c.label) if fmt.lang == "ru" else c.label),
            c.difference,
            fmt.points(c.difference),
        )
        for c in sorted(known, key=lambda c: c.difference or 0.0, reverse=True)
    ]
    return charts.diverging_bars(bars, title=fmt.label("quality_criteria"))


def _short(text: str) -> str:
    """A criterion's text cut to the chart's label column; the table under it has it whole."""
    return text if len(text) <= CHART_LABEL_CHARS else text[: CHART_LABEL_CHARS - 1] + "…"


async def _checklist_to_score(session: AsyncSession, checklist_id: str | None) -> Checklist:
    """The version named, or else the newest version of the default checklist."""
    if checklist_id is not None:
        return await checklist_service.get(session, checklist_id)
    named = await checklist_service.family_of(session, None)
    return (await checklist_repository.versions_of(session, named.family_id))[-1]


@router.get("/quality/calls/{call_id}")
async def score_page(
    request: Request,
    call_id: str,
    principal: PagePrincipal,
    session: SessionDep,
    economics: EconomicsDep,
    zone: ReportingZoneDep,
    checklist_id: str | None = None,
    saved: str | None = None,
) -> Response:
    call = await call_service.get_visible(session, call_id, principal)
    shown = CallPublic.of(*await call_service.with_recording(session, call), principal.scope)
    (checklist,) = await checklist_service.public(
        session, [await _checklist_to_score(session, checklist_id)]
    )
    evaluations = await evaluation_service.of_call(
        session, call_id, principal, economics.quality.bands
    )
    return render(
        request,
        "quality_score.html",
        currency=economics.currency,
        call=shown,
        checklist=checklist,
        evaluations=evaluations,
        saved=next((e for e in evaluations if e.id == saved), None),
        may_score=principal.role in (Role.ADMIN, Role.HEAD),
        answers=list(Answer),
        answer_field=ANSWER_FIELD,
        local=partial(local_time, zone=zone, lang=lang_of(request)),
    )


@router.post("/quality/calls/{call_id}/evaluations/{checklist_id}")
async def score_call(
    request: Request,
    call_id: str,
    checklist_id: str,
    principal: WriterPagePrincipal,
    session: SessionDep,
    economics: EconomicsDep,
    comment: Annotated[str | None, Form()] = None,
) -> Response:
    """The checklist form: the API's evaluation PUT (a second one by the same reviewer revises)."""
    form = await request.form()
    answers = {
        name.removeprefix(ANSWER_FIELD): value
        for name, value in form.items()
        if name.startswith(ANSWER_FIELD)
    }
    try:
        body = EvaluationPut.model_validate({"answers": answers, "comment": comment})
    except ValidationError as exc:
        raise Unprocessable(
            "the answers are not valid: each is yes, no or n/a",
            errors=[{"loc": list(error["loc"]), "msg": error["msg"]} for error in exc.errors()],
        ) from exc
    evaluation = await evaluation_service.put(
        session, call_id, checklist_id, body, principal, economics.quality.bands
    )
    return RedirectResponse(
        f"/quality/calls/{call_id}?checklist_id={checklist_id}&saved={evaluation.id}",
        status_code=303,
    )
