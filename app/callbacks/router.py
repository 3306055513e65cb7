"""Missed calls and callbacks: the figures (``/metrics/callbacks``), the cases (``/callbacks``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.dependencies import CurrentPrincipal
from app.callbacks.cases import GroupBy
from app.callbacks.schemas import CallbackCase, CallbackMetricsResponse
from app.callbacks.service import StatusFilter, callbacks_service
from app.config import SettingsDep
from app.db import SessionDep, utcnow
from app.pagination import Page, PageDep
from app.settings.service import settings_service

metrics_router = APIRouter(prefix="/metrics", tags=["metrics"])
cases_router = APIRouter(prefix="/callbacks", tags=["callbacks"])

FromQuery = Annotated[
    str | None, Query(alias="from", description="Local date (reporting zone) or timestamp.")
]
AsOfQuery = Annotated[str | None, Query(description="Timestamp; default now.")]


@metrics_router.get("/callbacks")
async def callback_metrics(
    session: SessionDep,
    config: SettingsDep,
    principal: CurrentPrincipal,
    from_: FromQuery = None,
    to: Annotated[str | None, Query(description="Exclusive. Neither: the last full week.")] = None,
    as_of: AsOfQuery = None,
    group_by: GroupBy | None = None,
    employee_id: Annotated[str | None, Query(description="Cases this employee owns.")] = None,
) -> CallbackMetricsResponse:
    """Missed calls, callbacks, the SLA and lost leads of the cases opened in the period
    (docs/callbacks.md); a manager gets its own cases'."""
    settings = await settings_service.economics(session, default_timezone=config.timezone)
    return await callbacks_service.metrics(
        session,
        settings,
        start=from_,
        end=to,
        as_of=as_of,
        group_by=group_by,
        employee_id=employee_id,
        scope=principal.scope,
        now=utcnow(),
    )


@cases_router.get("")
async def list_cases(
    session: SessionDep,
    config: SettingsDep,
    principal: CurrentPrincipal,
    page: PageDep,
    status: Annotated[
        StatusFilter | None, Query(description="pending: the work list, oldest first.")
    ] = None,
    employee_id: Annotated[str | None, Query(description="Cases this employee owns.")] = None,
    from_: Annotated[
        str | None,
        Query(alias="from", description="Cases opened from (default: 90 days before as_of)."),
    ] = None,
    to: Annotated[str | None, Query(description="Exclusive; default: as_of.")] = None,
    as_of: AsOfQuery = None,
) -> Page[CallbackCase]:
    """The callback cases, newest first; ``status=pending`` is the work list (oldest first,
    with the SLA deadline). A manager sees the cases it owns."""
    settings = await settings_service.economics(session, default_timezone=config.timezone)
    return await callbacks_service.cases(
        session,
        settings,
        page,
        status=status,
        employee_id=employee_id,
        start=from_,
        end=to,
        as_of=as_of,
        scope=principal.scope,
        now=utcnow(),
    )
