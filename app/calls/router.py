from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import ColumnElement

from app.auth.dependencies import CurrentPrincipal
from app.calls.models import Call
from app.calls.repository import call_repository
from app.calls.schemas import CallPublic, CallUpdate, RecordingSummary
from app.calls.service import call_service
from app.config import SettingsDep
from app.db import SessionDep
from app.pagination import Page, PageDep, paginate
from app.periods import period_filters
from app.recordings.models import Recording
from app.settings.service import settings_service
from app.webhooks.providers.base import CallStatus, Direction

router = APIRouter(prefix="/calls", tags=["calls"])


def to_public(call: Call, recording: Recording | None) -> CallPublic:
    summary = None if recording is None else RecordingSummary.of(recording)
    return CallPublic.model_validate(
        {
            **{c: getattr(call, c) for c in CallPublic.model_fields if c != "recording"},
            "recording": summary,
        }
    )


@router.get("")
async def list_calls(
    session: SessionDep,
    config: SettingsDep,
    page: PageDep,
    principal: CurrentPrincipal,
    from_: Annotated[
        str | None, Query(alias="from", description="Local date or timestamp.")
    ] = None,
    to: Annotated[str | None, Query(description="Exclusive; local date or timestamp.")] = None,
    direction: Direction | None = None,
    status: CallStatus | None = None,
    employee_id: str | None = None,
    lead_id: str | None = None,
    has_recording: bool | None = None,
    integration_id: str | None = None,
    provider_call_id: str | None = None,
) -> Page[CallPublic]:
    filters: list[ColumnElement[bool]] = []
    zone = await settings_service.reporting_zone(session, default_timezone=config.timezone)
    filters += period_filters(Call.started_at, from_, to, zone)
    for column, wanted in (
        (Call.direction, direction.value if direction else None),
        (Call.status, status.value if status else None),
        (Call.employee_id, employee_id),
        (Call.lead_id, lead_id),
        (Call.integration_id, integration_id),
        (Call.provider_call_id, provider_call_id),
    ):
        if wanted is not None:
            filters.append(column == wanted)
    if principal.is_manager:
        filters.append(Call.employee_id == principal.employee_id)
    rows = await call_repository.list(
        session,
        filters=filters,
        has_recording=has_recording,
        limit=page.limit + 1,
        before=page.after_moment(),
    )
    recordings = await call_repository.recordings_of(session, [row.id for row in rows])
    return paginate(
        rows,
        page,
        to_item=lambda row: to_public(row, recordings.get(row.id)),
        key=lambda row: [(row.started_at or row.created_at).isoformat(), row.id],
    )


@router.get("/{call_id}")
async def get_call(call_id: str, session: SessionDep, principal: CurrentPrincipal) -> CallPublic:
    call = await call_service.get_visible(session, call_id, principal)
    recordings = await call_repository.recordings_of(session, [call.id])
    return to_public(call, recordings.get(call.id))


@router.patch("/{call_id}")
async def update_call(
    call_id: str, body: CallUpdate, session: SessionDep, principal: CurrentPrincipal
) -> CallPublic:
    call = await call_service.update(session, call_id, body, principal)
    recordings = await call_repository.recordings_of(session, [call.id])
    return to_public(call, recordings.get(call.id))
