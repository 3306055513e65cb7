"""``/leads``: the companies and people being called, with the funnel stage each has reached."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile, status

from app.auth.dependencies import AdminPrincipal, CurrentPrincipal, WriterPrincipal
from app.config import SettingsDep
from app.db import SessionDep, get_database
from app.errors import Unprocessable
from app.leads.csv_import import CsvImportError
from app.leads.dependencies import LeadWorker
from app.leads.importer import lead_importer
from app.leads.models import Lead, LeadStatus
from app.leads.schemas import (
    ImportResult,
    LeadCreate,
    LeadFilters,
    LeadMerge,
    LeadPublic,
    LeadUpdate,
    TimelineEntry,
)
from app.leads.service import lead_service
from app.pagination import Page, PageDep
from app.phones import normalise_phone

router = APIRouter(prefix="/leads", tags=["leads"])


def lead_filters(
    config: SettingsDep,
    phone: Annotated[str | None, Query(description="In any format.")] = None,
    campaign: str | None = None,
    owner_id: str | None = None,
    lead_status: Annotated[LeadStatus | None, Query(alias="status")] = None,
    q: Annotated[str | None, Query(description="Words in the company or contact name.")] = None,
    stage: Annotated[
        int | None, Query(ge=0, le=5, description="Leads whose funnel stage is exactly this.")
    ] = None,
) -> LeadFilters:
    e164 = None
    if phone is not None:
        e164 = normalise_phone(phone, config.default_region)
        if e164 is None:
            raise Unprocessable.at(
                "query", "phone", msg="not a phone number", detail=f"not a phone number: {phone!r}"
            )
    return LeadFilters(
        phone_e164=e164,
        campaign=campaign,
        owner_id=owner_id,
        status=lead_status,
        words=tuple(q.casefold().split()) if q else (),
        stage=stage,
    )


async def _public(session: SessionDep, lead: Lead) -> LeadPublic:
    stages = await lead_service.stages(session, [lead])
    return LeadPublic.of(lead, stages.get(lead.id, 0))


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_lead(
    body: LeadCreate,
    principal: LeadWorker,
    session: SessionDep,
    config: SettingsDep,
) -> LeadPublic:
    lead = await lead_service.create(session, body, principal, region=config.default_region)
    return await _public(session, lead)


@router.get("")
async def list_leads(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    filters: Annotated[LeadFilters, Depends(lead_filters)],
) -> Page[LeadPublic]:
    return await lead_service.page_of_readable(session, principal, filters, page)


@router.post("/import")
async def import_leads(
    request: Request,
    _writer: WriterPrincipal,
    file: Annotated[UploadFile, File(description="CSV: UTF-8 or cp1251, ',' or ';' separated.")],
    config: SettingsDep,
) -> ImportResult:
    """Create or update leads from a spreadsheet export; a bad row never stops the others."""
    try:
        return await lead_importer.import_csv(
            get_database(request), file.file, default_region=config.default_region
        )
    except CsvImportError as exc:
        raise Unprocessable.at("body", "file", msg=str(exc)) from exc


@router.get("/{lead_id}")
async def get_lead(lead_id: str, principal: CurrentPrincipal, session: SessionDep) -> LeadPublic:
    lead = await lead_service.get_visible(session, lead_id, principal)
    return await _public(session, lead)


@router.patch("/{lead_id}")
async def update_lead(
    lead_id: str,
    body: LeadUpdate,
    principal: LeadWorker,
    session: SessionDep,
    config: SettingsDep,
) -> LeadPublic:
    lead = await lead_service.update(
        session, lead_id, body, principal, region=config.default_region
    )
    return await _public(session, lead)


@router.delete("/{lead_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_lead(lead_id: str, _admin: AdminPrincipal, session: SessionDep) -> Response:
    await lead_service.delete(session, lead_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{lead_id}/merge")
async def merge_lead(
    lead_id: str,
    body: LeadMerge,
    principal: LeadWorker,
    session: SessionDep,
) -> LeadPublic:
    lead = await lead_service.merge(session, lead_id, body.into, principal)
    return await _public(session, lead)


@router.get("/{lead_id}/timeline")
async def lead_timeline(
    lead_id: str, principal: CurrentPrincipal, session: SessionDep
) -> list[TimelineEntry]:
    return await lead_service.timeline(session, lead_id, principal)
