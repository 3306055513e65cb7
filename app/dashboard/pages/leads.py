"""Leads: the leads at each stage (the API's lead list and its filters) and a lead's page with its
timeline; a lead the key may not read is "not found", as in the API."""

from __future__ import annotations

from functools import partial
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request, Response

from app.dashboard.auth import PagePrincipal
from app.dashboard.clock import local_time
from app.dashboard.i18n import lang_of
from app.dashboard.rendering import render
from app.dashboard.routing import page_router
from app.db import SessionDep
from app.leads.router import lead_filters
from app.leads.schemas import LeadFilters, LeadPublic
from app.leads.service import lead_service
from app.pagination import PageDep
from app.settings.dependencies import EconomicsDep

router = page_router()


@router.get("/leads")
async def leads(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    page: PageDep,
    filters: Annotated[LeadFilters, Depends(lead_filters)],
) -> Response:
    listed = await lead_service.page_of_readable(session, principal, filters, page)
    return render(request, "leads.html", listed=listed, stage=filters.stage)


@router.get("/leads/{lead_id}")
async def lead(
    request: Request,
    lead_id: str,
    principal: PagePrincipal,
    session: SessionDep,
    economics: EconomicsDep,
) -> Response:
    assert economics.timezone is not None  # current_economics fills it in
    found = await lead_service.get_visible(session, lead_id, principal)
    stages = await lead_service.stages(session, [found])
    timeline = await lead_service.timeline(session, lead_id, principal)
    return render(
        request,
        "lead.html",
        lead=LeadPublic.of(found, stages.get(found.id, 0)),
        timeline=timeline,
        when=partial(local_time, zone=ZoneInfo(economics.timezone), lang=lang_of(request)),
    )
