from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.auth.dependencies import CurrentPrincipal
from app.calls.events import CallStatus, Direction
from app.calls.outcomes import Outcome
from app.calls.repository import list_position
from app.calls.schemas import CallFilters, CallPublic, CallUpdate
from app.calls.service import call_service
from app.db import SessionDep
from app.pagination import Page, PageDep, paginate
from app.periods import query_instant
from app.settings.dependencies import ReportingZoneDep

router = APIRouter(prefix="/calls", tags=["calls"])


def call_filters(
    zone: ReportingZoneDep,
    from_: Annotated[
        str | None, Query(alias="from", description="Local date or timestamp.")
    ] = None,
    to: Annotated[str | None, Query(description="Exclusive; local date or timestamp.")] = None,
    direction: Direction | None = None,
    status: CallStatus | None = None,
    outcome: Outcome | None = None,
    employee_id: str | None = None,
    lead_id: str | None = None,
    has_recording: bool | None = None,
    integration_id: str | None = None,
    provider_call_id: str | None = None,
) -> CallFilters:
    return CallFilters(
        started_from=None if from_ is None else query_instant("from", from_, zone),
        started_to=None if to is None else query_instant("to", to, zone),
        direction=direction,
        status=status,
        outcome=outcome,
        employee_id=employee_id,
        lead_id=lead_id,
        has_recording=has_recording,
        integration_id=integration_id,
        provider_call_id=provider_call_id,
    )


@router.get("")
async def list_calls(
    session: SessionDep,
    page: PageDep,
    principal: CurrentPrincipal,
    filters: Annotated[CallFilters, Depends(call_filters)],
) -> Page[CallPublic]:
    rows = await call_service.list_readable(
        session, principal, filters, limit=page.limit + 1, before=page.after_moment()
    )
    return paginate(
        rows,
        page,
        to_item=lambda row: CallPublic.of(*row, principal.scope),
        key=lambda row: list_position(row[0]),
    )


@router.get("/{call_id}")
async def get_call(call_id: str, session: SessionDep, principal: CurrentPrincipal) -> CallPublic:
    call = await call_service.get_visible(session, call_id, principal)
    return CallPublic.of(*await call_service.with_recording(session, call), principal.scope)


@router.patch("/{call_id}")
async def update_call(
    call_id: str, body: CallUpdate, session: SessionDep, principal: CurrentPrincipal
) -> CallPublic:
    call = await call_service.update(session, call_id, body, principal)
    return CallPublic.of(*await call_service.with_recording(session, call), principal.scope)
