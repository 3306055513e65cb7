from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.dependencies import CurrentPrincipal
from app.db import SessionDep, utcnow
from app.metrics.funnel import GroupBy, Mode
from app.metrics.schemas import CallStatsResponse, FunnelResponse
from app.metrics.service import CallGrouping, FunnelParams, metrics_service
from app.settings.dependencies import EconomicsDep, ReportingZoneDep

router = APIRouter(prefix="/metrics", tags=["metrics"])


@router.get("/funnel")
async def funnel(
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: EconomicsDep,
    from_: Annotated[
        str | None, Query(alias="from", description="Local date (reporting zone) or timestamp.")
    ] = None,
    to: Annotated[str | None, Query(description="Exclusive. Neither: the last full week.")] = None,
    mode: Annotated[Mode, Query(description="cohort: leads first dialled in the period.")] = (
        "cohort"
    ),
    as_of: Annotated[str | None, Query(description="Timestamp; default now.")] = None,
    group_by: GroupBy | None = None,
    employee_id: Annotated[str | None, Query(description="Leads that belong to it.")] = None,
    campaign: str | None = None,
) -> FunnelResponse:
    """The five-stage funnel with its money (docs/metrics.md); managers get their own leads'."""
    params = FunnelParams(from_, to, mode, as_of, group_by, employee_id, campaign)
    return await metrics_service.funnel(session, params, principal, settings, now=utcnow())


@router.get("/calls")
async def call_stats(
    principal: CurrentPrincipal,
    session: SessionDep,
    zone: ReportingZoneDep,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
    group_by: CallGrouping | None = None,
) -> CallStatsResponse:
    """Calls, answer rate, talk time, missed inbound — by the caller, day, hour, weekday or
    weekday × hour (keys like ``1-09``: Monday 09:00–10:00, local time)."""
    return await metrics_service.call_stats(
        session,
        start=from_,
        end=to,
        group_by=group_by,
        principal=principal,
        zone=zone,
        now=utcnow(),
    )
