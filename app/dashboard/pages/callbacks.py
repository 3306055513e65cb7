"""Callbacks: the work list of the leads waiting for a call back, and the figures per manager.

The work list is ``GET /api/v1/callbacks?status=pending`` and the figures are
``GET /api/v1/metrics/callbacks?group_by=employee``, from the same service calls.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import Query, Request, Response

from app.callbacks.service import callbacks_service
from app.dashboard.auth import PagePrincipal
from app.dashboard.clock import local_time
from app.dashboard.i18n import lang_of
from app.dashboard.rendering import render
from app.dashboard.routing import page_router
from app.db import SessionDep, utcnow
from app.pagination import PageDep
from app.settings.dependencies import EconomicsDep, ReportingZoneDep

router = page_router()

# The figures' columns, by field of CallbackFigures (their labels are the report's ``cb_*``).
FIGURE_COLUMNS = (
    "missed_calls",
    "cases",
    "out_of_hours",
    "called_back",
    "contacted",
    "contacted_by_callback",
    "contacted_by_client",
    "lost",
    "hot_lost",
    "pending",
    "sla_met",
    "sla_breached",
)


@router.get("/callbacks")
async def callbacks_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    economics: EconomicsDep,
    zone: ReportingZoneDep,
    page: PageDep,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
    as_of: str | None = None,
    employee_id: str | None = None,
) -> Response:
    now = utcnow()
    work = await callbacks_service.cases(
        session,
        economics,
        page,
        status="pending",
        employee_id=employee_id,
        start=None,
        end=None,
        as_of=as_of,
        scope=principal.scope,
        now=now,
    )
    figures = await callbacks_service.metrics(
        session,
        economics,
        start=from_,
        end=to,
        as_of=as_of,
        group_by="employee",
        employee_id=employee_id,
        scope=principal.scope,
        now=now,
    )
    return render(
        request,
        "callbacks.html",
        currency=economics.currency,
        work=work.items,
        next_cursor=work.next_cursor,
        figures=figures,
        columns=FIGURE_COLUMNS,
        query=request.query_params,
        local=partial(local_time, zone=zone, lang=lang_of(request)),
    )
